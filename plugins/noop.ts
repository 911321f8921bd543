import { definePlugin } from '../engine/plugin-api';

/** Reads nothing and returns nothing: what remains is the framework's own per-region overhead. */
export default definePlugin({
  name: 'noop',
  version: '1.0.0',
  apiVersion: 1,
  description: 'Does no work; measures the per-region cost of a coprocessor call.',
  // Returns nothing so the answer does not depend on how many regions there are.
  handle: (_request: Record<string, never>): null => null,
  merge: (_parts: null[]): null => null,
  cost: { scansRows: false, scanOnly: () => null, resultHeavy: () => null, rowsReturned: () => 0 },
  examples: [{ name: 'empty request', request: {} }],
});
