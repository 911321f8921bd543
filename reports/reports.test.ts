/**
 * Reports over real runs: the driver makes small filter, noop, ycsb-a and ml-train runs (and its
 * end-of-run step writes their reports); the tests read those files back through the library,
 * check the chart specs, render them, run the CLI, open report.html in headless Chromium, and
 * execute the notebooks on the tslab kernel against the same runs (any cell error fails).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chartsForRun } from './charts';
import { modeColor, MODE_COLORS, sortModes } from './modes';
import { renderSvg, svgToPng } from './render';
import { loadedFrom, loadRun, type LoadedRun, type SeriesOfRun } from './run-model';
import type { QueryView } from '../workloads/families/query/report';
import type { YcsbView } from '../workloads/families/ycsb';
import { spansDecades, type ChartSpec } from './specs/common';
import { predictedLatencyMs, predictedVsMeasured } from './specs/query-charts';
import { REPO_ROOT, runReportCli, runWorkload } from './test-runs';
import { CHARTS_DIR, INDEX_FILE, REPORT_FILE } from './write';

const WORKLOADS = ['filter', 'noop', 'ycsb-a', 'ml-train'] as const;
let out = '';
const runs = new Map<string, LoadedRun>();

before(async () => {
  out = mkdtempSync(path.join(os.tmpdir(), 'copbench-reports-'));
  // One after another: each run starts its own 3-node cluster, and the machine may have 2 cores.
  for (const w of WORKLOADS) {
    await runWorkload(w, out);
    runs.set(w, loadRun(path.join(out, w, 'latest')));
  }
});

after(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

const run = (w: (typeof WORKLOADS)[number]): LoadedRun => runs.get(w)!;
const chart = (charts: ChartSpec[], id: string): ChartSpec => {
  const c = charts.find((x) => x.id === id);
  assert.ok(c, `chart ${id} missing; have ${charts.map((x) => x.id).join(', ')}`);
  return c;
};

/** Every object inside a spec (depth first) that satisfies `pick`. */
function findAll(value: unknown, pick: (o: Record<string, unknown>) => boolean, found: Array<Record<string, unknown>> = []): Array<Record<string, unknown>> {
  if (Array.isArray(value)) value.forEach((v) => findAll(v, pick, found));
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (pick(o)) found.push(o);
    Object.values(o).forEach((v) => findAll(v, pick, found));
  }
  return found;
}
const encodingOf = (spec: unknown, channel: string): Array<Record<string, unknown>> => findAll(spec, (o) => typeof o.encoding === 'object' && o.encoding !== null && channel in (o.encoding as object)).map((o) => (o.encoding as Record<string, Record<string, unknown>>)[channel]!);
const marksOf = (spec: unknown): string[] => findAll(spec, (o) => 'mark' in o).map((o) => (typeof o.mark === 'string' ? o.mark : String((o.mark as { type: string }).type)));
const dataValues = (spec: unknown): Array<Record<string, unknown>> => (spec as { data: { values: Array<Record<string, unknown>> } }).data.values;

/** The per-second charts hold one point per second of the series (p99: only seconds that have one). */
function assertPerSecondCharts(charts: ChartSpec[], series: SeriesOfRun[]): void {
  const seconds = series.reduce((n, s) => n + s.points.length, 0);
  assert.equal(dataValues(chart(charts, 'throughput-per-second').spec).length, seconds);
  // A second without a completed call has no p99 (null in the series): no point for it.
  const withP99 = series.reduce((n, s) => n + s.points.filter((p) => Number.isFinite(p.p99Ms)).length, 0);
  assert.equal(dataValues(chart(charts, 'p99-per-second').spec).length, withP99);
}

describe('the driver writes the report after a run', () => {
  test('every run folder has report.html and charts (SVG, PNG, .vl.json), and results/index.html links every run', () => {
    const index = readFileSync(path.join(out, INDEX_FILE), 'utf8');
    for (const w of WORKLOADS) {
      const r = run(w);
      assert.ok(existsSync(path.join(r.data.dir, REPORT_FILE)), `${w}: no report.html`);
      const ids = chartsForRun(r).map((c) => c.id);
      assert.ok(ids.length >= 2, `${w}: ${ids.length} charts`);
      for (const id of ids) for (const ext of ['svg', 'png', 'vl.json']) assert.ok(statSync(path.join(r.data.dir, CHARTS_DIR, `${id}.${ext}`)).size > 200, `${w}: ${id}.${ext}`);
      assert.ok(index.includes(`href="${w}/${r.data.runId}/${REPORT_FILE}"`), `index lacks ${w}`);
    }
  });
});

describe('chart specs from real run files', () => {
  test('filter: wire bytes, latency, speedup vs selectivity and vs bandwidth, CPU split; wire bytes per mode in fixed colours on a log axis', () => {
    const r = run('filter');
    const charts = chartsForRun(r);
    const view = r.view as QueryView;
    const predicted = view.points.some((p) => predictedLatencyMs(p) !== null);
    assert.deepEqual(
      charts.map((c) => c.id),
      ['wire-bytes-vs-selectivity', 'latency-vs-selectivity', 'speedup-vs-selectivity', 'speedup-vs-bandwidth', 'cpu-split', ...(predicted ? ['predicted-vs-measured'] : []), ...(view.series.length ? ['throughput-per-second', 'p99-per-second'] : [])],
    );
    const wire = chart(charts, 'wire-bytes-vs-selectivity').spec;
    const [color] = encodingOf(wire, 'color');
    const modes = sortModes(view.points.map((p) => p.mode));
    assert.deepEqual((color!.scale as { domain: string[] }).domain, modes);
    assert.deepEqual((color!.scale as { range: string[] }).range.slice(0, 2), [MODE_COLORS.pushdown, MODE_COLORS.client]);
    const [y] = encodingOf(wire, 'y');
    // ci size sweeps selectivity 0.01 and 1: pushdown's bytes at 1% are ~1/80 of client's, so the axis is log.
    assert.ok(spansDecades(dataValues(wire).map((r) => r.bytesIn as number)), 'the ci run spans decades of bytes');
    assert.equal((y!.scale as { type?: string }).type, 'log');
    assert.match(String(y!.title), /bytes.*log scale/);
    const [x] = encodingOf(wire, 'x');
    assert.equal((x!.scale as { type?: string }).type, 'log');
    const rows = dataValues(wire);
    const push = rows.filter((r) => r.mode === 'pushdown').map((r) => r.bytesIn as number);
    const client = rows.filter((r) => r.mode === 'client').map((r) => r.bytesIn as number);
    // One panel per link only when a mode's bytes differ by link (adaptive may choose differently per link).
    const panels = 'facet' in (wire as object) ? r.links.length : 1;
    assert.equal(push.length, 2 * panels);
    assert.ok(Math.min(...client) > Math.max(...push), 'client mode moves more bytes than pushdown at every point');
  });

  test('filter latency: a panel per link (slowest first), a CI band under a line per mode', () => {
    const r = run('filter');
    const spec = chart(chartsForRun(r), 'latency-vs-selectivity').spec as unknown as { facet: { column: { sort: string[] } }; spec: { layer: unknown[] } };
    assert.deepEqual(spec.facet.column.sort, r.links.map((l) => l.label));
    assert.equal(r.links[r.links.length - 1]!.bandwidthBitsPerSec, null, 'unlimited is the last link');
    assert.deepEqual(marksOf(spec.spec.layer), ['errorband', 'line']);
    for (const row of dataValues(spec)) {
      assert.ok((row.ciLowMs as number) <= (row.latencyMs as number) + 1e-9 && (row.latencyMs as number) <= (row.ciHighMs as number) + 1e-9, 'band contains the mean');
    }
    assert.equal(dataValues(spec).length, (r.view as { points: unknown[] }).points.length);
  });

  test('filter speedup vs bandwidth: a line per sweep point, a break-even rule at 1, speedup = client / pushdown latency', () => {
    const r = run('filter');
    const spec = chart(chartsForRun(r), 'speedup-vs-bandwidth').spec;
    assert.ok(marksOf(spec).includes('rule'));
    const ruleData = findAll(spec, (o) => o.mark !== undefined && (o.mark as { type?: string }).type === 'rule' && o.data !== undefined)[0]!;
    assert.deepEqual((ruleData.data as { values: unknown[] }).values, [{ one: 1 }]);
    const view = r.view as QueryView;
    for (const row of dataValues(spec)) {
      const at = (mode: string) => view.points.find((p) => r.links.find((l) => l.label === row.link)?.name === p.link && p.point === row.point && p.mode === mode)!;
      assert.ok(Math.abs((row.speedup as number) - at('client').latencyMs.mean / at(String(row.mode)).latencyMs.mean) < 1e-9);
    }
    assert.equal(new Set(dataValues(spec).map((x) => x.point)).size, 2);
  });

  test('speedup charts draw each speedup with its 95% CI from the summary, and ring the points with no measurable difference', () => {
    const r = run('filter');
    const view = r.view as QueryView;
    for (const id of ['speedup-vs-bandwidth', 'speedup-vs-selectivity']) {
      const spec = chart(chartsForRun(r), id).spec;
      const domain = encodingOf(spec, 'y').map((y) => (y.scale as { domain?: number[] } | undefined)?.domain).find((d) => d)!;
      const rows = dataValues(spec);
      assert.ok(rows.length > 0);
      for (const row of rows) {
        const link = r.links.find((l) => l.label === row.link)!.name;
        const point = id === 'speedup-vs-bandwidth' ? row.point : view.points.find((p) => p.link === link && Number(p.point) === row.x)!.point;
        const ci = view.comparisons.find((c) => c.link === link && c.point === point)!.speedups![String(row.mode)]!;
        assert.equal(row.verdict, ci.verdict);
        const [low, high] = [row.ciLowDrawn as number, row.ciHighDrawn as number];
        assert.ok(low <= (row.speedup as number) && (row.speedup as number) <= high, `${id}: ${low} ≤ ${row.speedup} ≤ ${high}`);
        assert.ok(low >= domain[0]! && high <= domain[1]!, `${id}: the bar stays on the axis ${domain}`);
        if (ci.ciLow !== null && ci.ciLow >= domain[0]!) assert.equal(low, ci.ciLow);
        if (ci.ciHigh === null) assert.equal(high, domain[1]);
      }
      // Rings are sized by the verdict (0 elsewhere), so no facet's layer is left empty.
      const rings = findAll(spec, (o) => JSON.stringify((o.encoding as { size?: unknown } | undefined)?.size ?? '').includes("datum.verdict === 'no measurable difference'"));
      assert.equal(rings.length, 1, `${id}: one ring layer`);
    }
  });

  test('predicted vs measured is drawn from predictedLatencyMs when the summary has it, and skipped when it does not', () => {
    const r = run('filter');
    const withPrediction = structuredClone(r.data);
    const points = (withPrediction.summary as { points: Array<Record<string, unknown>> }).points;
    points.forEach((p, i) => (p.predictedLatencyMs = 10 + i));
    const ctx = { workload: 'filter', links: r.links };
    const drawn = predictedVsMeasured(loadedFrom(withPrediction).view as never, ctx);
    assert.ok(drawn, 'chart drawn when predictions are present');
    const rows = findAll(drawn.spec, (o) => Array.isArray((o.data as { values?: unknown[] } | undefined)?.values) && 'mark' in o && (o.mark as { type: string }).type === 'point')[0]!;
    assert.equal((rows.data as { values: unknown[] }).values.length, points.length);
    const without = structuredClone(r.data);
    (without.summary as { points: Array<Record<string, unknown>> }).points.forEach((p) => (p.predictedLatencyMs = null));
    assert.equal(predictedVsMeasured(loadedFrom(without).view as never, ctx), null);
    assert.ok(!chartsForRun(loadedFrom(without)).some((c) => c.id === 'predicted-vs-measured'));
  });

  test('noop: the overhead chart has a bar per mode with its CI', () => {
    const spec = chart(chartsForRun(run('noop')), 'noop-overhead').spec;
    assert.deepEqual(marksOf(spec), ['bar', 'rule']);
    const view = run('noop').view as QueryView;
    assert.deepEqual(dataValues(spec).map((r) => r.mode).sort(), view.points.map((p) => p.mode).sort());
    assert.ok(view.points.some((p) => p.mode === 'pushdown') && view.points.some((p) => p.mode === 'client'));
  });

  test('ml-train: loss vs wall time and vs epoch from samples.csv, loss on a log axis, one colour per mode', () => {
    const r = run('ml-train');
    const charts = chartsForRun(r);
    for (const id of ['loss-vs-time', 'loss-vs-epoch']) {
      const spec = chart(charts, id).spec;
      const rows = dataValues(spec);
      assert.equal(rows.length, r.data.samples.filter((s) => typeof s.loss === 'number' && s.loss > 0).length);
      const [y] = encodingOf(spec, 'y');
      assert.equal((y!.scale as { type?: string }).type, 'log', `${id}: loss spans decades`);
      const [color] = encodingOf(spec, 'color');
      assert.deepEqual((color!.scale as { domain: string[] }).domain, ['pushdown', 'client', 'client-cached', 'local-sgd']);
      assert.match(JSON.stringify(spec), /"mark":\{"type":"rule"[^}]*\},"encoding":\{"y":\{"datum":0\.0052\}/, `${id}: a dashed rule marks ml.targetLoss`);
    }
    assert.ok(charts.some((c) => c.id === 'training-time'));
  });

  test('filter: calls and p99 per second, one point per second of each link\'s series', () => {
    const r = run('filter');
    const view = r.view as QueryView;
    const seconds = view.series.reduce((n, s) => n + s.points.length, 0);
    assert.ok(seconds > 0, 'the driver records per-second series for query workloads');
    assertPerSecondCharts(chartsForRun(r), view.series);
  });

  test('ycsb: throughput and p99 per second, one point per second of each repetition', () => {
    const r = run('ycsb-a');
    const charts = chartsForRun(r);
    const view = r.view as YcsbView;
    const seconds = view.series.reduce((n, s) => n + s.points.length, 0);
    assert.ok(seconds > 0);
    assertPerSecondCharts(charts, view.series);
  });

  test('a mode has the same colour in every chart of every run', () => {
    let scales = 0;
    for (const w of WORKLOADS) {
      for (const c of chartsForRun(run(w))) {
        for (const enc of encodingOf(c.spec, 'color')) {
          if (enc.field !== 'mode') continue;
          const scale = enc.scale as { domain: string[]; range: string[] };
          scale.domain.forEach((mode, i) => assert.equal(scale.range[i], modeColor(mode), `${w}/${c.id}: ${mode}`));
          scales++;
        }
      }
    }
    assert.ok(scales >= 5, `${scales} mode colour scales checked`);
  });

  test('every chart renders to an SVG with data marks and no vega warnings, and rasterises to a PNG', async () => {
    for (const w of WORKLOADS) {
      for (const c of chartsForRun(run(w))) {
        const { svg, warnings } = await renderSvg(c.spec);
        assert.deepEqual(warnings, [], `${w}/${c.id}`);
        assert.match(svg, /^<svg/);
        assert.ok((svg.match(/role-mark/g) ?? []).length > 0, `${w}/${c.id}: no data marks`);
        assert.ok(svg.includes(c.spec.title && typeof c.spec.title === 'object' && 'text' in c.spec.title ? String(c.spec.title.text).split(':')[0]! : ''), 'title rendered');
        const png = svgToPng(svg, 1);
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      }
    }
  });
});

describe('npm run report', () => {
  test('regenerates a run report from the files alone', async () => {
    const dir = run('filter').data.dir;
    rmSync(path.join(dir, REPORT_FILE));
    rmSync(path.join(dir, CHARTS_DIR), { recursive: true });
    const res = await runReportCli([dir, '--out', out]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(existsSync(path.join(dir, REPORT_FILE)));
    assert.ok(existsSync(path.join(dir, CHARTS_DIR, 'latency-vs-selectivity.png')));
    assert.match(res.stdout, /report\.html \(\d+ charts/);
  });

  test('a folder that is not a run is a usage error that says what a run folder is', async () => {
    const res = await runReportCli([out]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /is not a copbench run: it has no manifest\.json/);
    const missing = await runReportCli([path.join(out, 'no-such-run')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /does not exist/);
  });

  test('--help prints the usage', async () => {
    const res = await runReportCli(['--help']);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /^Usage: npm run report/);
    assert.match(res.stdout, /--no-png/);
  });
});

describe('report.html in headless Chromium', () => {
  const CHROMIUM = '/usr/bin/chromium';

  test('opens from disk with no network: every chart is an SVG with marks, no console errors, the screenshot is not blank', async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (as .ci/run does)`);
    const puppeteer = require('puppeteer-core') as typeof import('puppeteer-core');
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'] });
    try {
      for (const w of WORKLOADS) {
        const r = run(w);
        const url = `file://${path.join(r.data.dir, REPORT_FILE)}`;
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text().slice(0, 300)}`)));
        page.on('pageerror', (e) => void problems.push(`page error: ${(e as Error).message}`));
        await page.setRequestInterception(true);
        page.on('request', (req) => {
          // The page itself and the screenshot decoded below (a data: URL) are the only loads allowed.
          if (req.url() === url || req.url().startsWith('data:')) void req.continue();
          else {
            problems.push(`request: ${req.url().slice(0, 200)}`);
            void req.abort();
          }
        });
        await page.setViewport({ width: 1300, height: 900 });
        await page.goto(url, { waitUntil: 'load' });
        const figures = await page.$$eval('figure[data-chart]', (els) =>
          els.map((el) => {
            const svg = el.querySelector('svg');
            const box = svg?.getBoundingClientRect();
            return { id: el.getAttribute('data-chart'), svg: Boolean(svg), width: box?.width ?? 0, height: box?.height ?? 0, marks: svg ? svg.querySelectorAll('g.role-mark > path, g.role-mark > line, g.role-mark > rect').length : 0 };
          }),
        );
        assert.deepEqual(figures.map((f) => f.id), chartsForRun(r).map((c) => c.id), `${w}: figures`);
        for (const f of figures) {
          assert.ok(f.svg && f.marks > 0, `${w}/${f.id}: ${f.marks} marks`);
          assert.ok(f.width > 200 && f.height > 100, `${w}/${f.id}: ${f.width}x${f.height}`);
        }
        const verdict = await page.$eval('.verdict', (el) => el.getAttribute('data-verdict'));
        assert.equal(verdict, w === 'ycsb-a' ? 'none' : 'agree');
        const shot = (await page.screenshot({ encoding: 'base64', fullPage: true })) as string;
        // Decode the screenshot in the page itself (no PNG decoder needed here) and count colours.
        const stats = (await page.evaluate(`(async () => {
          const img = new Image();
          img.src = 'data:image/png;base64,${shot}';
          await img.decode();
          const canvas = document.createElement('canvas');
          canvas.width = img.width;
          canvas.height = img.height;
          const ctx = canvas.getContext('2d');
          ctx.drawImage(img, 0, 0);
          const data = ctx.getImageData(0, 0, img.width, img.height).data;
          const colours = new Set();
          let nonBackground = 0;
          for (let i = 0; i < data.length; i += 4) {
            const rgb = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
            colours.add(rgb);
            if (rgb !== 0xfafafa && rgb !== 0xffffff) nonBackground++;
          }
          return { colours: colours.size, nonBackground: nonBackground / (data.length / 4) };
        })()`)) as { colours: number; nonBackground: number };
        assert.ok(stats.colours > 50, `${w}: screenshot has ${stats.colours} colours`);
        assert.ok(stats.nonBackground > 0.02, `${w}: ${(stats.nonBackground * 100).toFixed(1)}% of the screenshot is not background`);
        assert.deepEqual(problems, [], `${w}: problems in the browser`);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});

const PYTHON = '/usr/bin/python3';
const NOTEBOOKS = path.join(REPO_ROOT, 'notebooks');
const TSLAB_BIN = path.join(NOTEBOOKS, 'node_modules', '.bin');

interface Output {
  output_type: string;
  data?: Record<string, unknown>;
  ename?: string;
}

describe('notebooks', () => {
  test('every notebook executes on the tslab kernel against the fresh runs without a cell error, and shows charts and tables', () => {
    assert.ok(existsSync(path.join(TSLAB_BIN, 'tslab')), `tslab is not installed: npm ci --prefix notebooks (as .ci/run does)`);
    const nbconvert = spawnSync(PYTHON, ['-c', 'import nbconvert'], { encoding: 'utf8' });
    assert.equal(nbconvert.status, 0, `${PYTHON} has no nbconvert: apt-get install jupyter-notebook python3-nbconvert (as .ci/run does)\n${nbconvert.stderr}`);
    // The kernel spec goes to a temporary prefix found through JUPYTER_PATH: nothing is installed for the user.
    const prefix = path.join(out, 'jupyter');
    const env = { ...process.env, PATH: `${TSLAB_BIN}:${path.join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), COPBENCH_RESULTS: out, COPBENCH_ROOT: REPO_ROOT };
    const install = spawnSync(path.join(TSLAB_BIN, 'tslab'), ['install', `--python=${PYTHON}`, `--prefix=${prefix}`, `--binary=${path.join(TSLAB_BIN, 'tslab')}`], { env, encoding: 'utf8' });
    assert.equal(install.status, 0, `tslab install failed:\n${install.stdout}\n${install.stderr}`);

    const notebooks = readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb'));
    assert.ok(notebooks.length >= 2, `${notebooks.length} notebooks`);
    for (const nb of notebooks) {
      const outDir = path.join(out, 'executed-notebooks');
      const res = spawnSync(PYTHON, ['-m', 'nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=300', '--ExecutePreprocessor.kernel_name=tslab', '--output-dir', outDir, path.join(NOTEBOOKS, nb)], { env, cwd: NOTEBOOKS, encoding: 'utf8', timeout: 400_000 });
      assert.equal(res.status, 0, `${nb} failed to execute:\n${res.stderr.slice(-6000)}`);
      const executed = JSON.parse(readFileSync(path.join(outDir, nb), 'utf8')) as { cells: Array<{ cell_type: string; outputs?: Output[] }> };
      const outputs = executed.cells.flatMap((c) => c.outputs ?? []);
      assert.deepEqual(outputs.filter((o) => o.output_type === 'error').map((o) => o.ename), [], `${nb}: error outputs`);
      const kinds = new Set(outputs.flatMap((o) => Object.keys(o.data ?? {})));
      assert.ok(kinds.has('image/svg+xml'), `${nb}: no chart shown (outputs: ${[...kinds].join(', ')})`);
      assert.ok(kinds.has('text/html'), `${nb}: no table shown`);
      const svgs = outputs.flatMap((o) => (o.data?.['image/svg+xml'] ? [String(o.data['image/svg+xml'])] : []));
      assert.ok(svgs.every((svg) => svg.includes('role-mark')), `${nb}: a chart without data marks`);
    }
  });
});
