/**
 * Server-side rendering of Vega-Lite specs: compile with vega-lite, run a headless Vega view to
 * SVG, rasterise the SVG to PNG with resvg (prebuilt, no browser). vega and vega-lite are ESM-only,
 * so they are loaded with import() once and cached.
 */
import type { TopLevelSpec } from './specs/common';

type VegaModule = typeof import('vega', { with: { 'resolution-mode': 'import' } });
type VegaLiteModule = typeof import('vega-lite', { with: { 'resolution-mode': 'import' } });

let modules: Promise<{ vega: VegaModule; vl: VegaLiteModule }> | undefined;

function loadModules(): Promise<{ vega: VegaModule; vl: VegaLiteModule }> {
  modules ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => ({ vega, vl }));
  return modules;
}

/** A rendered chart: the SVG text and any warnings vega-lite or vega logged while making it. */
export interface RenderedSvg {
  svg: string;
  warnings: string[];
}

/** Compiles a Vega-Lite spec and renders it to SVG (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<RenderedSvg> {
  const { vega, vl } = await loadModules();
  const warnings: string[] = [];
  const collect = (...args: readonly unknown[]): void => void warnings.push(args.map(String).join(' '));
  const logger = {
    level: () => logger,
    error: (...args: readonly unknown[]) => {
      collect('error:', ...args);
      return logger;
    },
    warn: (...args: readonly unknown[]) => {
      collect(...args);
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  const compiled = vl.compile(spec, { logger: logger as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger: logger as never, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    return { svg, warnings };
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG to PNG at `scale` × its size, with the system's DejaVu Sans for text. */
export function svgToPng(svg: string, scale = 2): Buffer {
  // resvg-js ships prebuilt binaries per platform; required lazily so a report without PNGs never loads it.
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return Buffer.from(resvg.render().asPng());
}

/** A scenegraph node as Vega builds it (only the fields read here). */
interface SceneNode {
  marktype?: string;
  role?: string;
  items?: SceneNode[];
  x?: number;
  width?: number;
}

/**
 * How far each plot's points spread across it: for every group (a plot, or a facet cell) holding
 * point marks at 3 or more distinct x positions, (rightmost − leftmost) / the group's width. Axis
 * and legend symbols are not counted. Runs the chart headless, as renderSvg does.
 */
export async function pointSpreads(spec: TopLevelSpec): Promise<number[]> {
  const { vega, vl } = await loadModules();
  const quiet = { level: () => quiet, error: () => quiet, warn: () => quiet, info: () => quiet, debug: () => quiet };
  const view = new vega.View(vega.parse(vl.compile(spec, { logger: quiet as never }).spec), { renderer: 'none', logger: quiet as never });
  try {
    await view.runAsync();
    const spreads: number[] = [];
    const walk = (mark: SceneNode): void => {
      for (const item of mark.items ?? []) {
        if (mark.marktype !== 'group') continue;
        const children = item.items ?? [];
        const xs = children.filter((m) => m.marktype === 'symbol' && m.role === 'mark').flatMap((m) => (m.items ?? []).map((i) => i.x ?? 0));
        if (new Set(xs.map((x) => Math.round(x))).size >= 3 && (item.width ?? 0) > 0) spreads.push((Math.max(...xs) - Math.min(...xs)) / item.width!);
        for (const child of children) walk(child);
      }
    };
    walk((view.scenegraph() as unknown as { root: SceneNode }).root);
    return spreads;
  } finally {
    view.finalize();
  }
}
