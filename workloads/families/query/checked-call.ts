/**
 * One coprocessor call as the query runner makes it, answer check included: the answer's rows (for
 * a plugin that streams them) are digested as they arrive and dropped, and the answer is
 * checksummed with that digest in their place, so no call holds a whole answer (a backend whose
 * runner does not stream returns the whole answer, checksummed alike). The bench's
 * client-memory row (bench/query-client.ts) runs this same path.
 */
import type { CoprocessorCall, CoprocessorOutcome } from '../../../engine/client/coprocessor';
import type { PluginRunner } from '../../backends/backend';
import { answerChecksum, RowsDigest, rowsDigestedChecksum, streamedChecksum } from '../../driver/checksum';

export interface CheckedCall {
  outcome: CoprocessorOutcome<unknown>;
  /** The answer's checksum: equal across modes for equal answers. */
  checksum: string;
}

export async function checkedCall(coprocessor: PluginRunner, call: Omit<CoprocessorCall<unknown>, 'onRows'>): Promise<CheckedCall> {
  // A whole 100%-selectivity filter answer held as JS objects was most of the client's peak RSS.
  const rows = new RowsDigest();
  const outcome = await coprocessor.run<unknown, unknown>({ ...call, onRows: (batch) => rows.add(batch) });
  if (outcome.streamed) return { outcome, checksum: streamedChecksum(outcome.result as object, outcome.streamed.field, rows) };
  // Not streamed by this runner (a backend whose runner takes no onRows): a plugin whose rows
  // stream elsewhere gets the checksum a streamed answer would have, so backends compare.
  const stream = (await coprocessor.loadPlugin(call.plugin, call.version)).plugin.streamRows?.(call.request);
  return { outcome, checksum: stream ? rowsDigestedChecksum(outcome.result as object, stream.field) : answerChecksum(outcome.result) };
}
