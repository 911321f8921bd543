/**
 * The source `npm run plugin -- new <name>` scaffolds: a small, working, documented plugin (counts
 * the rows whose record matches every condition, on the SAMPLE_SCHEMA dataset) with example
 * requests, so the conformance suite covers it from the moment it exists; and a runnable workload
 * spec that studies it (kind `plugin`, sweeping the predicate's threshold).
 */

/** Plugin names: lower-case letters, digits and dashes, starting with a letter (the loader's rule). */
export const PLUGIN_NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;

/** TypeScript source of a new plugin called `name` (validated with PLUGIN_NAME_PATTERN first). */
export function pluginTemplate(name: string): string {
  if (!PLUGIN_NAME_PATTERN.test(name)) throw new Error(`invalid plugin name '${name}'`);
  return `/**
 * ${name}: counts the rows whose record matches every condition in the request.
 *
 * Scaffolded by \`npm run plugin -- new ${name}\`; edit freely. A plugin is this one file: its
 * default export is \`definePlugin({...})\`, and it may import only the plugin API.
 *
 * How it runs: \`handle\` is called once per region — on the storage node next to the data
 * (mode 'pushdown'), or in the client over rows pulled through the wire (mode 'client') — and
 * \`merge\` combines the per-region results on the client. Requests and partial results cross the
 * wire as msgpack, so keep them plain data (objects, arrays, numbers, strings, Uint8Array).
 *
 * Try it:
 *   npm run cluster                                   # deploys plugins/ and redeploys on every save
 *   npm run plugin -- deploy plugins/${name}.ts        # or deploy by hand to a running cluster
 *   npm run plugin -- list --nodes                    # what every node has loaded
 *
 * From code:
 *   const out = await new Coprocessor(client).run({ plugin: '${name}', version: '^1.0.0', mode: 'pushdown',
 *     request: { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 500 }] } });
 *   out.result.count
 *
 * Bump \`version\` when the behaviour changes: callers ask for a semver range and get the newest
 * matching version; redeploying the same version replaces its code (calls in flight finish on the
 * old code).
 */
import { RecordCodec, SAMPLE_SCHEMA, compilePredicate, definePlugin, type Condition, type Schema } from '../engine/plugin-api';

/** What a caller sends. */
export interface CountRequest {
  /** The record layout of the rows (the synthetic dataset publishes SAMPLE_SCHEMA). */
  schema: Schema;
  /** Conditions on record columns; a row counts when all of them hold (none: every row counts). */
  where: Condition[];
}

/** What one region returns; only this crosses the wire in pushdown mode. */
export interface RegionCount {
  count: number;
}

export interface CountResult {
  count: number;
}

export default definePlugin({
  name: '${name}',
  version: '1.0.0',
  apiVersion: 1,
  description: 'Counts rows whose record matches every condition.',
  async handle(request: CountRequest, ctx): Promise<RegionCount> {
    // Compile the conditions once; columns are then read in place from each encoded record.
    const matches = compilePredicate(new RecordCodec(request.schema), request.where);
    let count = 0;
    // visit hands each row to the callback as views, valid only during it (copyBytes keeps one);
    // scan yields batches of rows that may be kept, at the cost of a copy per row.
    for (const range of ctx.ranges) {
      await ctx.storage.visit(range, (_key, value) => {
        if (matches(value)) count++;
      });
    }
    return { count };
  },
  merge(parts: RegionCount[]): CountResult {
    return { count: parts.reduce((n, p) => n + p.count, 0) };
  },
  // Run in both modes by the conformance suite (test/conformance.test.ts) on a synthetic dataset:
  // the pushdown and client answers must be equal. Add one per behaviour worth checking.
  // Optional hints for the harness's cost model (adaptive mode) and its row counts. Without them it
  // calibrates on the request itself and says its predictions are coarser. Others: scanOnly,
  // resultHeavy, partialItems, rowsReturned (see CostHints in engine/plugin-api.ts).
  cost: {
    rowsReturned: () => 1,
    rowsMatched: (result) => result.count,
  },
  examples: [
    { name: 'every row', request: { schema: SAMPLE_SCHEMA, where: [] } },
    { name: 'amount > 500', request: { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 500 }] } },
    { name: 'category c3 with flag', request: { schema: SAMPLE_SCHEMA, where: [{ column: 'category', op: '==', value: 'c3' }, { column: 'flag', op: '==', value: true }] } },
  ],
});
`;
}

/**
 * A workload spec (JSON text) that studies plugin `name` as the template writes it: the synthetic
 * dataset, the predicate `amount > threshold` swept from ~99% to ~1% of the rows, pushdown vs
 * client vs adaptive on two links, and a `ci` size for a quick look. `schemaRef`: the spec
 * schema as the spec's `$schema` (relative to the spec's folder; the default fits workloads/specs/),
 * so editors check it.
 */
export function workloadSpecTemplate(name: string, schemaRef = '../spec.schema.json'): string {
  if (!PLUGIN_NAME_PATTERN.test(name)) throw new Error(`invalid plugin name '${name}'`);
  const spec = {
    $schema: schemaRef,
    name,
    description: `The ${name} plugin: rows with amount > threshold, sweeping the threshold (99%..1% of rows match), pushdown vs client-side`,
    kind: 'plugin',
    plugin: name,
    version: '^1',
    cluster: { nodes: 3, splitKeys: 50000, splitBytes: 67108864, coprWorkers: 2 },
    dataset: { kind: 'synthetic', rows: 200000, valueBytes: 100, seed: 42, categories: 10 },
    request: { where: [{ column: 'amount', op: '>', value: 500 }] },
    sweep: { parameter: 'request.where.0.value', values: [10, 500, 990] },
    modes: ['pushdown', 'client', 'adaptive'],
    links: ['unlimited', '1gbit'],
    warmup: 1,
    repetitions: 3,
    concurrency: 4,
    sizes: { ci: { 'dataset.rows': 6000, 'cluster.splitKeys': 1500, 'sweep.values': [10, 990], repetitions: 2, maxRepetitions: 2, warmup: 0, links: ['unlimited'] } },
  };
  return `${JSON.stringify(spec, null, 2)}\n`;
}
