import { definePlugin } from '../engine/plugin-api';

/** Reads nothing and returns nothing: what remains is the framework's own per-region overhead. */
export default definePlugin({
  name: 'noop',
  version: '1.0.0',
  apiVersion: 1,
  description: 'Does no work; measures the per-region cost of a coprocessor call.',
  handle: (_request: Record<string, never>) => 1,
  merge: (parts: number[]) => ({ regions: parts.reduce((a, b) => a + b, 0) }),
  examples: [{ name: 'empty request', request: {} }],
});
