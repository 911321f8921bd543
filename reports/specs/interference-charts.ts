/**
 * Charts of interference workloads: the point tenant's p99 against the analytic stream's rate, per
 * mode (`none` is the tenant alone), and the trade-off between analytic throughput and point p99.
 */
import type { InterferencePoint } from '../../workloads/families/interference/summary';
import { modeColorScale, modeDashEncoding, sortModes } from '../modes';
import { assembleSpec, axisTitle, chartTitle, clampLow, measureScale, PANEL, SINGLE_WIDTH, spansDecades, yAxisTitle, type ChartSpec } from './common';

const rateAxis = (rates: number[]): Record<string, unknown> => {
  const log = rates.every((r) => r > 0) && spansDecades(rates);
  return { field: 'rate', type: 'quantitative', title: axisTitle('analytic calls due per second', log), scale: log ? { type: 'log' } : { zero: false } };
};

/** Point p99 (mean over repetitions, 95% CI band) against the analytic rate, one line per mode. */
export function pointP99VsRate(points: InterferencePoint[], workload: string): ChartSpec | null {
  const rates = [...new Set(points.map((p) => p.rate))];
  if (rates.length < 2) return null;
  const y = measureScale(points.map((p) => p.pointP99Ms.mean));
  // n = 1 has no CI: the band then collapses onto the mean.
  const bounded = (v: number, mean: number): number => (Number.isFinite(v) ? v : mean);
  const values = points.map((p) => ({ rate: p.rate, mode: p.mode, p99Ms: p.pointP99Ms.mean, ciLowMs: clampLow(bounded(p.pointP99Ms.ciLow, p.pointP99Ms.mean), y.floor, y.log), ciHighMs: bounded(p.pointP99Ms.ciHigh, p.pointP99Ms.mean), p50Ms: p.pointP50Ms.mean, p999Ms: p.pointP999Ms.mean, vsNone: p.p99VsNone }));
  const color = { field: 'mode', type: 'nominal', title: 'mode', scale: modeColorScale(points.map((p) => p.mode)) } as const;
  const inner = {
    width: SINGLE_WIDTH,
    height: PANEL.height,
    encoding: { x: rateAxis(rates) },
    layer: [
      { mark: { type: 'errorband', band: { opacity: 0.15 } }, encoding: { y: { field: 'ciLowMs', type: 'quantitative', title: yAxisTitle('point-operation p99 (ms)', y.log), scale: y.scale }, y2: { field: 'ciHighMs' }, color } },
      {
        mark: { type: 'line', point: { size: 50 }, strokeWidth: 2 },
        encoding: {
          y: { field: 'p99Ms', type: 'quantitative' },
          // An explicit legend with opaque symbols (a band's opacity would otherwise carry over).
          color: { ...color, legend: { encode: { symbols: { update: { opacity: { value: 1 } } } } } },
          strokeDash: modeDashEncoding(points.map((p) => p.mode)),
          tooltip: [{ field: 'mode' }, { field: 'rate', title: 'analytic calls/s' }, { field: 'p50Ms', title: 'p50 ms', format: '.2f' }, { field: 'p99Ms', title: 'p99 ms', format: '.2f' }, { field: 'p999Ms', title: 'p99.9 ms', format: '.2f' }, { field: 'vsNone', title: 'p99 / none', format: '.2f' }],
        },
      },
    ],
  };
  const title = chartTitle(`${workload}: point-operation p99 vs analytic rate`, ['p99 of the point tenant (open loop, from intended starts) while the analytic stream runs in each mode;', 'none: the tenant alone. Band: 95% CI over repetitions.']);
  return { id: 'point-p99-vs-analytic-rate', title: 'Point p99 vs analytic rate', caption: 'How much the analytic stream hurts the other tenant: the higher a mode sits above none, the more its work competes with the point operations for the nodes.', spec: assembleSpec(title, values, inner), xIsSweep: true };
}

/** Analytic throughput against point p99: each mode's trade-off curve, one mark per rate. */
export function analyticThroughputVsPointP99(points: InterferencePoint[], workload: string): ChartSpec | null {
  const rows = points.map((p) => ({ mode: p.mode, rate: p.rate, p99Ms: p.pointP99Ms.mean, callsPerSec: p.analyticCallsPerSec.mean, analyticMs: p.analyticMeanMs?.mean ?? null }));
  if (rows.length < 2) return null;
  const logX = spansDecades(rows.map((r) => r.p99Ms)) && rows.every((r) => r.p99Ms > 0);
  const inner = {
    width: SINGLE_WIDTH,
    height: PANEL.height,
    mark: { type: 'line', point: { size: 60 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'p99Ms', type: 'quantitative', title: axisTitle('point-operation p99 (ms)', logX), scale: logX ? { type: 'log' } : { zero: false } },
      y: { field: 'callsPerSec', type: 'quantitative', title: 'analytic calls completed per second', scale: { zero: true } },
      order: { field: 'rate', type: 'quantitative' },
      color: { field: 'mode', type: 'nominal', title: 'mode', scale: modeColorScale(rows.map((r) => r.mode)), sort: sortModes(rows.map((r) => r.mode)) },
      strokeDash: modeDashEncoding(rows.map((r) => r.mode)),
      tooltip: [{ field: 'mode' }, { field: 'rate', title: 'calls due/s' }, { field: 'callsPerSec', title: 'calls done/s', format: '.2f' }, { field: 'p99Ms', title: 'point p99 ms', format: '.2f' }, { field: 'analyticMs', title: 'analytic mean ms', format: '.1f' }],
    },
  };
  const title = chartTitle(`${workload}: analytic throughput vs point p99`, 'Each mark: one mode at one analytic rate (the line follows the rate). Up and to the left is better: more analytic work, less harm to the point tenant.');
  return { id: 'analytic-throughput-vs-point-p99', title: 'Trade-off: analytic throughput vs point p99', caption: 'The trade-off curve per mode: which mode buys the most analytic throughput for a given cost in the other tenant\u2019s tail latency.', spec: assembleSpec(title, rows, inner) };
}

export function interferenceCharts(points: InterferencePoint[], workload: string): ChartSpec[] {
  return [pointP99VsRate(points, workload), analyticThroughputVsPointP99(points, workload)].filter((c): c is ChartSpec => c !== null);
}
