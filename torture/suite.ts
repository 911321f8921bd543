/**
 * The reliability suite: the list of scenarios and a runner that turns one scenario run into a
 * ScenarioReport (figures stamped with the scenario name; a scenario that throws reports a failing
 * figure instead of taking the suite down).
 */
import { crashScenario } from './crash';
import { splitsScenario } from './splits-under-load';
import { fuzzScenario } from './protocol-fuzz';
import { faultsScenario } from './plugin-faults';
import { loadScenario } from './load';
import { securityScenario } from './security';
import type { Scenario, ScenarioReport, SizeName } from './types';

/**
 * Every scenario, in the order the CLI runs them. (`any`: each has its own parameter type, and a
 * scenario is only ever run with its own `sizes`, see runScenario.)
 */
export const SCENARIOS: ReadonlyArray<Scenario<any>> = [crashScenario, splitsScenario, fuzzScenario, faultsScenario, loadScenario, securityScenario];

/** Looks scenarios up by name; throws listing the known names for an unknown one. */
export function pickScenarios(names: string[] | undefined): Array<Scenario<any>> {
  if (!names || names.length === 0) return [...SCENARIOS];
  return names.map((name) => {
    const s = SCENARIOS.find((x) => x.name === name);
    if (!s) throw new Error(`unknown scenario '${name}': expected one of ${SCENARIOS.map((x) => x.name).join(', ')}`);
    return s;
  });
}

/** Runs one scenario at a size; never throws (a failure becomes a failing figure and `error`). */
export async function runScenario<P>(scenario: Scenario<P>, size: SizeName, seed: number, log: (line: string) => void = () => undefined): Promise<ScenarioReport> {
  const t0 = Date.now();
  const report: ScenarioReport = { scenario: scenario.name, title: scenario.title, size, seed, durationMs: 0, figures: [] };
  try {
    const figures = await scenario.run(scenario.sizes[size], { seed, log });
    report.figures = figures.map((f) => ({ scenario: scenario.name, ...f }));
  } catch (err) {
    report.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    report.figures.push({ scenario: scenario.name, name: 'scenario ran to the end', value: 0, n: 1, unit: 'of N', expect: '= N', pass: false, detail: (err as Error)?.message ?? String(err) });
  }
  report.durationMs = Date.now() - t0;
  return report;
}
