/** The ml-train family's spec section: full-batch gradient descent (task and l2 sit in `request`). */
import type { z } from 'zod';
import { int, num, object, optionalNullable, type Assignable } from '../../spec-checks';
import type { LocalSgd } from '../../../plugins/sgd';

const local = object({
  epochs: int(1, 10_000).describe('local epochs per region and round'),
  batchRows: int(1, 1_000_000_000).describe('rows per local mini-batch'),
  learningRate: num(1e-12, 1e6).describe('local step size'),
});

const ml = object({
  epochs: int(1, 1_000_000).describe('epochs at most (one full pass over the data each)'),
  learningRate: num(1e-12, 1e6).describe('step size: w ← w − learningRate · (mean gradient)'),
  tolerance: num(0, 1e9).describe('stop early once an epoch lowers the mean loss by less than this (0: never); local SGD, whose loss turns up a little above the optimum, stops at the turn'),
  targetLoss: optionalNullable(num(0, 1e12)).describe(
    "time to accuracy (as DAWNBench measures it): a training's wall time until the first epoch whose loss is at most this, per mode (null: not measured); the loss of epoch k is that of the weights it starts with, known when it ends, so the time is counted to the end of epoch k",
  ),
  local: optionalNullable(local).describe("the `local-sgd` mode's local training per region and round (sgd's `local`); null without that mode"),
});

/** `ml`: the section, or null (it may be left out of other families' specs). */
export const mlSection = optionalNullable(ml).describe("the ml-train family's section (kind `ml-train`; task and l2 sit in `request`): full-batch gradient descent");

export type MlSpec = z.output<typeof ml>;

// The section's `local` is what the sgd plugin takes as its `local`: a change on either side must fail to compile.
export type MlLocal = Assignable<z.output<typeof local>, LocalSgd>;

/** The top-level spec fields the family owns. */
export const ML_SECTIONS = { ml: mlSection };
