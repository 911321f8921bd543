/**
 * One coprocessor call as the query runner makes it, answer check included. A plugin that streams
 * its answer's rows hands them over as they arrive, and no call holds a whole answer:
 *
 * - `digest`: the rows are hashed as they arrive and dropped, and the answer is checksummed with
 *   that digest in their place (the runner's untimed check calls, and the bench's client-memory row,
 *   bench/query-client.ts);
 * - `count`: the rows are only counted, and the checksum covers the rest of the answer and that
 *   count (the runner's timed calls).
 *
 * Why timed calls do not digest: the consumer's time is taken out of a call's latency, but the nodes
 * go on working while the client hashes. Digesting every row of a 100%-selectivity filter answer
 * inside the timed call made pushdown look 469 ms where the same call with a consumer that does
 * nothing took 606 ms (client mode, whose own thread does the work, barely moved: 896 vs 859 ms),
 * which overstated pushdown's speedup at the heavy end (2026-12-07, docs/benchmarks.md).
 */
import type { CoprocessorCall, CoprocessorOutcome } from '../../../engine/client/coprocessor';
import type { PluginRunner } from '../../backends/backend';
import { answerChecksum, RowsDigest, streamedChecksum } from '../../driver/checksum';

export interface CheckedCall {
  outcome: CoprocessorOutcome<unknown>;
  /** The answer's checksum: equal across modes for equal answers (of the same `AnswerCheck`). */
  checksum: string;
}

/** How a streamed answer's rows are checked (see the file's comment). */
export type AnswerCheck = 'digest' | 'count';

export async function checkedCall(coprocessor: PluginRunner, call: Omit<CoprocessorCall<unknown>, 'onRows'>, check: AnswerCheck = 'digest'): Promise<CheckedCall> {
  if (check === 'count') {
    let rows = 0;
    const outcome = await coprocessor.run<unknown, unknown>({ ...call, onRows: (batch) => void (rows += batch.length) });
    const checksum = outcome.streamed ? answerChecksum({ ...(outcome.result as object), [outcome.streamed.field]: { rows } }) : answerChecksum(outcome.result);
    return { outcome, checksum };
  }
  // A whole 100%-selectivity filter answer held as JS objects was most of the client's peak RSS.
  const rows = new RowsDigest();
  const outcome = await coprocessor.run<unknown, unknown>({ ...call, onRows: (batch) => rows.add(batch) });
  const checksum = outcome.streamed ? streamedChecksum(outcome.result as object, outcome.streamed.field, rows) : answerChecksum(outcome.result);
  return { outcome, checksum };
}
