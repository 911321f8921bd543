/**
 * The self-contained report.html of a run and the results index: inline CSS and inline SVG only,
 * no scripts and no network, so a file opened from disk (or mailed) shows everything.
 */
import type { LoadedRun } from './run-model';
import type { Comparison } from './compare';
import { backendOf } from './compare-labels';
import { backendLabel } from '../workloads/backends/backend';
import type { ChartSpec } from './specs/common';
import { tablesForRun, VERDICT_WORDS, verdictOf, type ReportTable } from './tables';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1240px; padding: 24px; color: #1a1a1a; background: #fafafa; line-height: 1.4; }
h1 { font-size: 24px; margin: 0 0 4px; } h1 small { font-size: 14px; color: #666; font-weight: normal; }
h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: #555; font-size: 13px; margin: 0 0 12px; }
.verdict { padding: 10px 14px; border-radius: 6px; font-weight: bold; margin: 12px 0; }
.verdict.agree { background: #e3f4ea; border: 1px solid #7cc79a; color: #155d32; }
.verdict.differ, .verdict.failed { background: #fde6e4; border: 1px solid #e0796e; color: #8a1c12; }
.verdict.none { background: #eef1f5; border: 1px solid #b7c2d0; color: #2f3e52; }
.verdict ul { font-weight: normal; margin: 6px 0 0; }
nav a { margin-right: 14px; font-size: 14px; }
figure { background: white; border: 1px solid #e2e2e2; border-radius: 6px; margin: 0 0 18px; padding: 10px; overflow-x: auto; }
figure .chart svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 13px; color: #444; margin-top: 6px; }
table { border-collapse: collapse; background: white; font-size: 12.5px; margin-bottom: 6px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; white-space: nowrap; }
th { background: #f0f0f0; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.table-wrap { overflow-x: auto; }
.note { font-size: 12.5px; color: #555; margin: 0 0 14px; }
pre { background: white; border: 1px solid #e2e2e2; padding: 10px; font-size: 12px; overflow-x: auto; }
footer { margin-top: 36px; font-size: 12px; color: #777; }
.empty { color: #666; font-style: italic; }
.notes { background: #fff8e1; border: 1px solid #e6c96b; border-radius: 6px; padding: 8px 14px; font-size: 13.5px; margin: 12px 0; }
.notes ul { margin: 4px 0 0; padding-left: 20px; }
`;

/** A chart ready for the page: its spec record, its SVG, and where its files are (relative links). */
export interface PageChart {
  chart: ChartSpec;
  svg: string;
  pngHref?: string;
  specHref?: string;
}

/**
 * Makes the ids inside one chart's SVG unique in the page: vega names clip paths clip1, clip2, …
 * per render, and two inline SVGs with the same id would clip each other's marks.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`).replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

/** One table as HTML. */
export function tableHtml(t: ReportTable): string {
  const head = `<tr>${t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((cell, i) => `<td${t.numeric[i] ? ' class="num"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<h3>${escapeHtml(t.title)}</h3>\n<div class="table-wrap"><table>\n${head}\n${body}\n</table></div>${t.note ? `\n<p class="note">${escapeHtml(t.note)}</p>` : ''}`;
}

/** The verdict banner of a run. */
export function verdictHtml(run: LoadedRun): string {
  const v = verdictOf(run);
  const mark = v.state === 'agree' ? '✓ ' : v.state === 'differ' || v.state === 'failed' ? '✗ ' : '';
  const list = v.mismatches.length ? `<ul>${v.mismatches.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul>` : '';
  return `<div class="verdict ${v.state}" data-verdict="${v.state}">${mark}${escapeHtml(v.text)}${list}</div>`;
}

/** The run's backend as its manifest records it: kind and version (runs before the backend seam: copbench). */
function manifestBackend(manifest: Record<string, unknown>): string {
  const b = manifest.backend as { kind?: unknown; version?: unknown } | undefined;
  if (!b || typeof b.kind !== 'string') return 'copbench';
  return backendLabel({ kind: b.kind, version: typeof b.version === 'string' ? b.version : '' });
}

function metaLine(run: LoadedRun): string {
  const m = run.data.manifest;
  const parts = [
    `kind ${run.workloadKind}`,
    `backend ${manifestBackend(m)}`,
    m.startedAt ? `started ${String(m.startedAt)}` : '',
    m.size ? `size ${String(m.size)}` : 'default size',
    Array.isArray(m.overrides) && m.overrides.length ? `overrides ${m.overrides.join(' ')}` : '',
    m.cluster ? `cluster ${String(m.cluster)}` : '',
    m.gitCommit ? `commit ${String(m.gitCommit).slice(0, 12)}` : '',
    `links ${run.links.map((l) => l.label).join(', ') || '-'}`,
  ].filter(Boolean);
  return parts.map(escapeHtml).join(' · ');
}

/** The charts of a page as figures (inline SVG, caption, links to the PNG and spec); `empty` when there are none. */
export function figuresHtml(charts: readonly PageChart[], empty: string): string {
  if (charts.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  return charts
    .map((c, i) => {
      const links = [c.pngHref ? `<a href="${escapeHtml(c.pngHref)}">PNG</a>` : '', c.specHref ? `<a href="${escapeHtml(c.specHref)}">Vega-Lite spec</a>` : ''].filter(Boolean).join(' · ');
      return `<figure id="chart-${escapeHtml(c.chart.id)}" data-chart="${escapeHtml(c.chart.id)}">\n<div class="chart">${scopeSvgIds(c.svg, `c${i}`)}</div>\n<figcaption>${escapeHtml(c.chart.caption)}${links ? ` — ${links}` : ''}</figcaption>\n</figure>`;
    })
    .join('\n');
}

/** The whole report.html of a run. */
export function reportHtml(run: LoadedRun, charts: readonly PageChart[], generatedAt: Date = new Date()): string {
  const title = `${run.data.workload} · ${run.data.runId}`;
  const figures = figuresHtml(charts, 'No charts: the run has no summary.');
  const tables = tablesForRun(run);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>copbench report: ${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(run.data.workload)} <small>${escapeHtml(run.data.runId)}</small></h1>
<p class="meta">${metaLine(run)}</p>
${verdictHtml(run)}
<nav><a href="#charts">Charts</a><a href="#tables">Tables</a><a href="#manifest">Manifest</a><a href="../../index.html">All runs</a></nav>
</header>
<section id="charts">
<h2>Charts</h2>
${figures}
</section>
<section id="tables">
<h2>Tables</h2>
${tables.length ? tables.map(tableHtml).join('\n') : '<p class="empty">No summary tables: the run has no summary.</p>'}
</section>
<section id="manifest">
<h2>Manifest</h2>
<p class="note">What ran: the spec with its overrides, the git commit, package versions and the machine. Rerun it with <code>npm run workload -- --from ${escapeHtml(run.data.dir)}/manifest.json</code>.</p>
<pre>${escapeHtml(JSON.stringify(run.data.manifest, null, 2))}</pre>
</section>
<footer>Generated ${escapeHtml(generatedAt.toISOString())} by <code>npm run report</code> from this folder's manifest.json, summary.json and samples.csv.</footer>
</body>
</html>
`;
}

/** A run's checksum verdict in a word, for tables. */
const verdictWord = (run: LoadedRun): string => VERDICT_WORDS[verdictOf(run).state];

/**
 * compare.html: several runs on the same charts, each named by its label; the runs and what
 * differs between them first, then where their results disagree, the charts and the tables.
 * `reportHrefs[i]` links run i's report.html (relative to the page), null when it has none.
 */
export function compareHtml(c: Comparison, charts: readonly PageChart[], reportHrefs: ReadonlyArray<string | null>, generatedAt: Date = new Date()): string {
  const labels = c.labels.labels;
  const basis = { backend: 'by backend', fields: `by what differs: ${c.labels.differing.filter((f) => f.field !== 'backend' && !f.fromSize).map((f) => f.field).join(', ') || c.labels.differing.map((f) => f.field).join(', ')}`, 'run-id': 'by run id (their manifests differ in nothing but the time)' }[c.labels.basis];
  const runRows = c.runs.map((r, i) => {
    const m = r.data.manifest;
    const href = reportHrefs[i];
    const network = (m.network as { kind?: unknown } | undefined)?.kind;
    const cells = [
      escapeHtml(labels[i]!),
      href ? `<a href="${escapeHtml(href)}">${escapeHtml(r.data.runId)}</a>` : escapeHtml(r.data.runId),
      escapeHtml(r.data.workload),
      escapeHtml(String(m.startedAt ?? '-')),
      escapeHtml(backendOf(m)),
      escapeHtml(String(network ?? '-')),
      escapeHtml(typeof m.gitCommit === 'string' ? m.gitCommit.slice(0, 12) : '-'),
      escapeHtml(m.size ? String(m.size) : 'default'),
      escapeHtml(Array.isArray(m.overrides) && m.overrides.length ? m.overrides.join(' ') : '-'),
      escapeHtml(verdictWord(r)),
    ];
    return `<tr data-run="${escapeHtml(labels[i]!)}">${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`;
  });
  const runsTable = `<div class="table-wrap"><table>\n<tr><th>run</th><th>run id</th><th>workload</th><th>started</th><th>backend</th><th>network</th><th>commit</th><th>size</th><th>overrides</th><th>checksums</th></tr>\n${runRows.join('\n')}\n</table></div>`;
  const differing = c.labels.differing.length
    ? tableHtml({
        title: 'What differs between the runs',
        columns: ['field', ...labels],
        numeric: [false, ...labels.map(() => false)],
        rows: c.labels.differing.map((f) => [f.fromSize ? `${f.field} (set by the size)` : f.field, ...f.values]),
        note: "From the manifests: the backend, the network as measured, the commit, the size, the cluster and every field of the spec as it ran (overrides applied; an override that set the default changes nothing, so it is not listed). Labels use the first three fields that are not set by the size.",
      })
    : '<p class="note">The manifests differ in nothing but the start time: the runs are repeats (labelled by run id).</p>';
  const bad = c.runs.filter((r) => verdictOf(r).state === 'differ');
  const verdict = bad.length
    ? `<div class="verdict differ" data-verdict="differ">✗ In ${bad.map((r) => escapeHtml(labels[c.runs.indexOf(r)]!)).join(', ')} the modes' answers differ: those timings compare different work.</div>`
    : c.runs.every((r) => verdictOf(r).state === 'agree')
      ? '<div class="verdict agree" data-verdict="agree">✓ In every run every mode gave the same answer, so each run\'s comparison of modes is valid.</div>'
      : '';
  const notes = c.notes.length ? `<div class="notes" data-notes>${escapeHtml(c.notes[0]!)}${c.notes.length > 1 ? `<ul>${c.notes.slice(1).map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}</div>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>copbench comparison: ${escapeHtml(c.workload)} · ${escapeHtml(labels.join(' vs '))}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(c.workload)} <small>${c.runs.length} runs compared: ${escapeHtml(labels.join(' vs '))}</small></h1>
<p class="meta">${escapeHtml(`family ${c.family.name} · runs labelled ${basis}`)}</p>
${verdict}
${notes}
<nav><a href="#runs">Runs</a><a href="#charts">Charts</a><a href="#tables">Tables</a></nav>
</header>
<section id="runs">
<h2>Runs</h2>
${runsTable}
${differing}
</section>
<section id="charts">
<h2>Charts</h2>
${figuresHtml(charts, 'No charts: the runs share nothing to draw together (see the tables).')}
</section>
<section id="tables">
<h2>Tables</h2>
${c.tables.length ? c.tables.map(tableHtml).join('\n') : '<p class="empty">No tables.</p>'}
</section>
<footer>Generated ${escapeHtml(generatedAt.toISOString())} by <code>npm run report -- --compare</code> from the runs' manifest.json, summary.json and samples.csv.</footer>
</body>
</html>
`;
}

/** A row of the results index. */
export interface IndexEntry {
  workload: string;
  runId: string;
  /** Link to the run's report, relative to the index; null when the run has none. */
  reportHref: string | null;
  startedAt: string;
  kind: string;
  size: string;
  status: 'agree' | 'differ' | 'none' | 'failed' | 'incomplete' | 'unreadable';
  statusText: string;
  isLatest: boolean;
}

/** results/index.html: every run, newest first per workload, with links to the reports. */
export function indexHtml(entries: readonly IndexEntry[], generatedAt: Date = new Date()): string {
  const workloads = [...new Set(entries.map((e) => e.workload))].sort();
  const sections = workloads.map((w) => {
    const rows = entries
      .filter((e) => e.workload === w)
      .sort((a, b) => b.runId.localeCompare(a.runId))
      .map((e) => {
        const id = e.reportHref ? `<a href="${escapeHtml(e.reportHref)}">${escapeHtml(e.runId)}</a>` : escapeHtml(e.runId);
        return `<tr data-status="${e.status}"><td>${id}${e.isLatest ? ' <strong>(latest)</strong>' : ''}</td><td>${escapeHtml(e.startedAt)}</td><td>${escapeHtml(e.kind)}</td><td>${escapeHtml(e.size)}</td><td>${escapeHtml(e.statusText)}</td></tr>`;
      })
      .join('\n');
    return `<h2>${escapeHtml(w)}</h2>\n<div class="table-wrap"><table>\n<tr><th>run</th><th>started</th><th>kind</th><th>size</th><th>checksums</th></tr>\n${rows}\n</table></div>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>copbench results</title>
<style>${STYLE}</style>
</head>
<body>
<h1>copbench results</h1>
<p class="meta">${entries.length} run(s) in ${workloads.length} workload(s). Each link opens the run's report.html.</p>
${sections.length ? sections.join('\n') : '<p class="empty">No runs yet: <code>npm run workload filter</code> makes one.</p>'}
<footer>Generated ${escapeHtml(generatedAt.toISOString())} by <code>npm run report</code>.</footer>
</body>
</html>
`;
}
