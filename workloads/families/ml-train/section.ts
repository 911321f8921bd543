/** The ml-train family's spec section: full-batch gradient descent (task and l2 sit in `request`). */
import { int, num, object, optionalNullable, type Check } from '../../spec-checks';
import type { LocalSgd } from '../../../plugins/sgd';

export interface MlSpec {
  /** Epochs at most (one full pass over the data each). */
  epochs: number;
  /** Step size: w ← w − learningRate · (mean gradient). */
  learningRate: number;
  /** Stop early once the mean loss changes by less than this between two epochs (0: never). */
  tolerance: number;
  /**
   * Time to accuracy (as DAWNBench measures it): a training's wall time until the first epoch
   * whose loss is at most this, per mode (null: not measured). The loss of epoch k is that of the
   * weights it starts with, known when it ends, so the time is counted to the end of epoch k.
   */
  targetLoss: number | null;
  /** The `local-sgd` mode's local training per region and round (sgd's `local`); null without that mode. */
  local: LocalSgd | null;
}

/** `ml`: the section, or null (it may be left out of other families' specs). */
export const mlSection: Check = optionalNullable(
  object({
    epochs: int(1, 1_000_000),
    learningRate: num(1e-12, 1e6),
    tolerance: num(0, 1e9),
    targetLoss: optionalNullable(num(0, 1e12)),
    local: optionalNullable(object({ epochs: int(1, 10_000), batchRows: int(1, 1_000_000_000), learningRate: num(1e-12, 1e6) })),
  }),
);
