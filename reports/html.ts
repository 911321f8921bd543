/**
 * The self-contained report.html of a run and the results index: inline CSS and inline SVG only,
 * no scripts and no network, so a file opened from disk (or mailed) shows everything.
 */
import type { LoadedRun } from './run-model';
import type { ChartSpec } from './specs/common';
import { tablesForRun, verdictOf, type ReportTable } from './tables';

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
.verdict.differ { background: #fde6e4; border: 1px solid #e0796e; color: #8a1c12; }
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
  const mark = v.state === 'agree' ? '✓ ' : v.state === 'differ' ? '✗ ' : '';
  const list = v.mismatches.length ? `<ul>${v.mismatches.map((m) => `<li>${escapeHtml(m)}</li>`).join('')}</ul>` : '';
  return `<div class="verdict ${v.state}" data-verdict="${v.state}">${mark}${escapeHtml(v.text)}${list}</div>`;
}

function metaLine(run: LoadedRun): string {
  const m = run.data.manifest;
  const parts = [
    `kind ${run.workloadKind}`,
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

/** A row of the results index. */
export interface IndexEntry {
  workload: string;
  runId: string;
  /** Link to the run's report, relative to the index; null when the run has none. */
  reportHref: string | null;
  startedAt: string;
  kind: string;
  size: string;
  status: 'agree' | 'differ' | 'none' | 'incomplete' | 'unreadable';
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
