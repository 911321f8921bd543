/**
 * The misbehaving plugins of the plugin-fault scenario, as source deployed through the placement
 * service (the way any plugin reaches a cluster), and the faults each one is expected to cause.
 */
import { ALL_ROWS } from './common';

/** A plugin file body around `fields` (name, version, handle ...). */
const pluginSource = (fields: string, apiVersion = '1'): string =>
  `import { definePlugin, utf8 } from '../engine/plugin-api';\nexport default definePlugin({\n  apiVersion: ${apiVersion},\n  merge: (parts: unknown[]) => parts,\n${fields}\n});\n`;

/** How a fault is triggered: a call of a deployed plugin, or a deploy that must be refused. */
export type FaultTrigger =
  | { kind: 'call'; plugin: string; request: unknown; start: string; end: string; deadlineMs?: number }
  | { kind: 'deploy'; file: string; source: string };

export interface FaultCase {
  name: string;
  trigger: FaultTrigger;
  /** The error code the caller must get (a COPR_* code; for deploys, COPR_LOAD and the load code). */
  code: string;
  loadCode?: string;
}

/** Writes go to `tw:` keys so the dataset (under `row:`) stays as loaded. */
const WRITES = { start: 'tw:', end: 'tw;' };
const DATA = ALL_ROWS;

/** Deployed before the cases run: one plugin per call fault. */
export function faultPluginFiles(maxResultBytes: number): Record<string, string> {
  return {
    'tf-throws.ts': pluginSource(`  name: 'tf-throws', version: '1.0.0',\n  handle() { throw new Error('boom from tf-throws'); },`),
    'tf-loop.ts': pluginSource(`  name: 'tf-loop', version: '1.0.0',\n  handle() { for (;;) {} },`),
    'tf-heap.ts': pluginSource(`  name: 'tf-heap', version: '1.0.0',\n  handle() { const keep: number[][] = []; for (;;) keep.push(new Array(1 << 20).fill(0.5)); },`),
    'tf-big-result.ts': pluginSource(`  name: 'tf-big-result', version: '1.0.0',\n  handle: () => 'x'.repeat(${maxResultBytes * 2}),`),
    // No `writes: true`, so storage is read-only; the cast gets past the type that has no put.
    'tf-sneaky-write.ts': pluginSource(`  name: 'tf-sneaky-write', version: '1.0.0',\n  async handle(req: { key: string }, ctx) { await (ctx.storage as any).put(utf8(req.key), utf8('sneaky')); return 1; },`),
    'tf-writer.ts': pluginSource(`  name: 'tf-writer', version: '1.0.0', writes: true,\n  async handle(req: { key: string }, ctx) { await ctx.storage.put!(utf8(req.key), utf8('written')); return 1; },`),
    'tf-reader.ts': pluginSource(`  name: 'tf-reader', version: '1.0.0',\n  async handle(req: { key: string }, ctx) { return (await ctx.storage.get(utf8(req.key))) ?? null; },`),
  };
}

/** The nine faults of the scenario, in the order they run. */
export const FAULT_CASES: FaultCase[] = [
  { name: 'throw', code: 'COPR_PLUGIN_ERROR', trigger: { kind: 'call', plugin: 'tf-throws', request: {}, ...DATA } },
  { name: 'infinite loop', code: 'COPR_DEADLINE', trigger: { kind: 'call', plugin: 'tf-loop', request: {}, ...DATA } },
  // V8 needs a few seconds of last-resort GCs to give up on a full heap: a long deadline makes the
  // heap limit, not the deadline, what stops the call.
  { name: 'heap bomb', code: 'COPR_HEAP', trigger: { kind: 'call', plugin: 'tf-heap', request: {}, ...DATA, deadlineMs: 30_000 } },
  { name: 'huge result', code: 'COPR_RESULT_TOO_LARGE', trigger: { kind: 'call', plugin: 'tf-big-result', request: {}, ...DATA } },
  { name: 'write while read-only', code: 'COPR_READ_ONLY', trigger: { kind: 'call', plugin: 'tf-sneaky-write', request: { key: 'tw:sneaky' }, ...WRITES } },
  { name: 'write outside ranges', code: 'COPR_OUT_OF_RANGE', trigger: { kind: 'call', plugin: 'tf-writer', request: { key: 'zz:outside' }, ...WRITES } },
  { name: 'read outside ranges', code: 'COPR_OUT_OF_RANGE', trigger: { kind: 'call', plugin: 'tf-reader', request: { key: 'zz:secret' }, ...DATA } },
  { name: 'syntax error', code: 'COPR_LOAD', loadCode: 'SYNTAX', trigger: { kind: 'deploy', file: 'tf-syntax.ts', source: pluginSource(`  name: 'tf-syntax', version: '1.0.0',\n  handle() { return ((; },`) } },
  { name: 'API mismatch', code: 'COPR_LOAD', loadCode: 'API_MISMATCH', trigger: { kind: 'deploy', file: 'tf-api2.ts', source: pluginSource(`  name: 'tf-api2', version: '1.0.0',\n  handle: () => 1,`, '2 as 1') } },
];

/** Keys the faults try to write or read outside their ranges; none may exist afterwards except through the test's own writes. */
export const FORBIDDEN_KEYS = ['tw:sneaky', 'zz:outside'];
