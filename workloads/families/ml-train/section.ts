/** The ml-train family's spec section: full-batch gradient descent (task and l2 sit in `request`). */
import { int, num, object, optionalNullable, type Check } from '../../spec-checks';

export interface MlSpec {
  /** Epochs at most (one full pass over the data each). */
  epochs: number;
  /** Step size: w ← w − learningRate · (mean gradient). */
  learningRate: number;
  /** Stop early once the mean loss changes by less than this between two epochs (0: never). */
  tolerance: number;
}

/** `ml`: the section, or null (it may be left out of other families' specs). */
export const mlSection: Check = optionalNullable(object({ epochs: int(1, 1_000_000), learningRate: num(1e-12, 1e6), tolerance: num(0, 1e9) }));
