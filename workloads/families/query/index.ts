/**
 * The query family: one coprocessor call per measurement, any plugin (kind `plugin`) or the
 * presets filter, aggregate and noop, per sweep point, link and mode (pushdown, client,
 * adaptive), with answer checksums that must agree across modes.
 */
import { optionalNullable, SpecError, str } from '../../spec-checks';
import { summarizeQueries } from '../../driver/summarize';
import { printQuerySummary } from '../../driver/print-summary';
import { defineFamily } from '../family';
import { checkQueryPlugin } from './prepare';
import { queryReport, type QueryView } from './report';
import { QUERY_KINDS, queryWorkload } from './requests';
import { nodeColumns, plannedQueryCalls, QUERY_MODES, runQueries, type QueryMode, type QueryRunResult } from './runner';
import { Progress } from '../../driver/progress';
import { REPETITION_SECTIONS, repetitionPolicy } from './repetitions';

/** The top-level spec fields the query family owns. */
export const QUERY_SECTIONS = {
  plugin: optionalNullable(str).describe('kind `plugin`: the plugin\'s name (a file in plugins/ or a plugin deployed to the cluster)'),
  version: optionalNullable(str).describe("kind `plugin`: a semver range of the plugin's version (null: any; the newest matching version runs)"),
  ...REPETITION_SECTIONS,
};

export const queryFamily = defineFamily<QueryView>({
  name: 'query',
  kinds: QUERY_KINDS,
  sections: QUERY_SECTIONS,
  checkSpec(spec) {
    for (const mode of spec.modes) if (!QUERY_MODES.includes(mode as QueryMode)) throw new SpecError(`modes: '${mode}' is not available for ${spec.kind} workloads (available: ${QUERY_MODES.join(', ')})`);
    queryWorkload(spec);
    repetitionPolicy(spec);
  },
  prepare: checkQueryPlugin,
  loadsItsOwnData: (spec) => queryWorkload(spec).sweepsDataset,
  plannedWork: (spec) => ({ label: 'measure', total: plannedQueryCalls(spec) }),
  async run(spec, backend, { writer, log, load, tick, publishSummary }) {
    const nodeIds = (await backend.sampleNodes()).map((n) => n.id).sort((a, b) => a - b);
    const repetitions = repetitionPolicy(spec);
    /** summary.json and the table from what the run measured; `stoppedEarly`: why it covers only the points it finished. */
    const publish = (result: QueryRunResult, stoppedEarly?: string): ReturnType<typeof summarizeQueries> => {
      const { samples, peakRss, costModel, series, loads, stops, answerChecks } = result;
      const summary = summarizeQueries(samples, stops, answerChecks);
      publishSummary({ plugin: queryWorkload(spec).plugin, load: load ?? loads[0] ?? null, ...(loads.length ? { loads } : {}), ...(stoppedEarly ? { stoppedEarly } : {}), peakRss, repetitions, ...summary, costModel, series, stops, answerChecks }, () => printQuerySummary(summary, costModel ?? undefined, repetitions));
      return summary;
    };
    let loadBar: Progress | null = null;
    const result = await runQueries(spec, backend, {
      log,
      onCall: () => tick(1),
      onSample: ({ byNode, ...row }) => writer.appendSample({ ...row, ...nodeColumns(byNode, nodeIds) }),
      onLoadProgress: (loaded, total) => {
        loadBar ??= new Progress('load', total);
        loadBar.update(loaded);
        if (loaded >= total) {
          loadBar.done();
          loadBar = null;
        }
      },
      // The points finished before a failure are results: their summary and report are kept.
      onStopped: (finished, err) => {
        if (finished.stops.length === 0) return;
        const points = new Set(finished.stops.map((s) => s.point)).size;
        log(`the run stopped at a failed call; summary.json covers the ${points} point(s) every link finished`);
        publish(finished, `the run failed after ${points} point(s): ${err instanceof Error ? err.message : String(err)}`);
      },
    });
    const summary = publish(result);
    const { samples, answerChecks } = result;
    if (!summary.verdict.agree) return { failure: `ANSWERS DIFFER between modes — the comparison is invalid:\n  ${summary.verdict.mismatches.join('\n  ')}` };
    log(`checksums: the answers of ${[...new Set(samples.map((s) => s.mode))].join(', ')} are equal at every point (${answerChecks.length} untimed check calls digested every row)`);
    return { failure: null };
  },
  report: queryReport,
});
