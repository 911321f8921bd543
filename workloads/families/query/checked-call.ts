/**
 * One coprocessor call as the query runner makes it, answer check included: the answer's rows (for
 * a plugin that streams them) are digested as they arrive and dropped, and the answer is
 * checksummed with that digest in their place, so no call holds a whole answer. The bench's
 * client-memory row (bench/query-client.ts) runs this same path.
 */
import type { CoprocessorCall, CoprocessorOutcome } from '../../../engine/client/coprocessor';
import type { PluginRunner } from '../../backends/backend';
import { answerChecksum, RowsDigest, streamedChecksum } from '../../driver/checksum';

export interface CheckedCall {
  outcome: CoprocessorOutcome<unknown>;
  /** The answer's checksum: equal across modes for equal answers. */
  checksum: string;
}

export async function checkedCall(coprocessor: PluginRunner, call: Omit<CoprocessorCall<unknown>, 'onRows'>): Promise<CheckedCall> {
  // A whole 100%-selectivity filter answer held as JS objects was most of the client's peak RSS.
  const rows = new RowsDigest();
  const outcome = await coprocessor.run<unknown, unknown>({ ...call, onRows: (batch) => rows.add(batch) });
  const checksum = outcome.streamed ? streamedChecksum(outcome.result as object, outcome.streamed.field, rows) : answerChecksum(outcome.result);
  return { outcome, checksum };
}
