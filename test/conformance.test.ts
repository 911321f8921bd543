/**
 * The shared plugin conformance suite: every plugin file in plugins/ is run with each of its
 * declared example requests, on a multi-region synthetic dataset, in `pushdown` and `client` mode.
 * The two answers must be equal, and must match a reference computed in this process over the
 * generated rows. A plugin dropped into plugins/ is covered without editing this file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pack, unpack } from 'msgpackr';
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { CheckedStorage, type RowSource } from '../engine/coprocessor/checked-storage';
import { loadPluginSource } from '../engine/coprocessor/loader';
import { pluginFiles } from '../engine/cluster/plugin-deployer';
import { loadRows, syntheticRows } from '../workloads/datasets/synthetic';
import { NO_STATE, type KV } from '../engine/plugin-api';

const ROWS = 12_000;
const PLUGINS_DIR = path.join(__dirname, '..', 'plugins');
const plugins = pluginFiles(PLUGINS_DIR).map((file) => loadPluginSource(readFileSync(file, 'utf8'), path.basename(file)));
const dataset = [...syntheticRows({ rows: ROWS, seed: 7, valueBytes: 64 })];

let cluster: LocalCluster;
let client: ClusterClient;
let coprocessor: Coprocessor;

before(async () => {
  cluster = await LocalCluster.start({ nodes: 3, splitKeys: 2000 });
  client = await ClusterClient.connect({ placement: cluster.placementAddress });
  coprocessor = new Coprocessor(client);
  await loadRows(client, dataset);
  // The data in several regions on several nodes, and the layout settled.
  await cluster.waitForSpread({ minRegions: 4, minNodes: 2 });
});

after(async () => {
  client?.close();
  await cluster?.stop();
});

test('every plugin in plugins/ loads and declares at least one example request', () => {
  assert.ok(plugins.length >= 3, `plugins found: ${plugins.map((p) => p.artifact.name).join(', ')}`);
  for (const p of plugins) assert.ok((p.plugin.examples ?? []).length > 0, `${p.artifact.file} declares examples`);
  for (const outcome of cluster.pluginDeployments) assert.ok(outcome.ok, `${outcome.file} deployed: ${outcome.message}`);
});

/** The answer computed in this process over the generated rows, as one partial. */
async function reference(loaded: (typeof plugins)[number], request: unknown): Promise<unknown> {
  const rows: RowSource = {
    get: (key) => dataset.find((r) => r.key.equals(Buffer.from(key)))?.value,
    *scanBatches(): Iterable<KV[]> {
      for (let i = 0; i < dataset.length; i += 1000) yield dataset.slice(i, i + 1000);
    },
  };
  const ranges = [{ start: Buffer.alloc(0), end: Buffer.alloc(0) }];
  const storage = new CheckedStorage(rows, ranges, false, { maxRowsScanned: Infinity, maxBytesScanned: Infinity });
  const req = unpack(pack(request));
  const partial = unpack(pack(await loaded.plugin.handle(req, { ranges, storage, signal: new AbortController().signal, where: 'client', state: NO_STATE })));
  return loaded.plugin.merge([partial], req);
}

/** Deep equality where numbers may differ in the last bits (merging partials in another grouping). */
function assertClose(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    const tolerance = 1e-9 * Math.max(1, Math.abs(expected));
    assert.ok(Math.abs(actual - expected) <= tolerance, `${where}: ${actual} vs ${expected}`);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where}: not an array`);
    assert.equal(actual.length, expected.length, `${where}: length`);
    expected.forEach((e, i) => assertClose(actual[i], e, `${where}[${i}]`));
  } else if (expected instanceof Uint8Array) {
    assert.ok(actual instanceof Uint8Array && Buffer.from(actual).equals(Buffer.from(expected)), `${where}: bytes differ`);
  } else if (expected && typeof expected === 'object') {
    assert.ok(actual && typeof actual === 'object', `${where}: not an object`);
    assert.deepEqual(Object.keys(actual as object).sort(), Object.keys(expected).sort(), `${where}: keys`);
    for (const k of Object.keys(expected)) assertClose((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${where}.${k}`);
  } else {
    assert.deepEqual(actual, expected, where);
  }
}

for (const loaded of plugins) {
  for (const example of loaded.plugin.examples ?? []) {
    test(`${loaded.artifact.name}@${loaded.artifact.version} — ${example.name}: pushdown and client answers are equal and correct`, async () => {
      const call = { plugin: loaded.artifact.name, version: loaded.artifact.version, request: example.request };
      const pushdown = await coprocessor.run({ ...call, mode: 'pushdown' });
      const clientSide = await coprocessor.run({ ...call, mode: 'client' });
      assert.equal(pushdown.plugin.sha256, loaded.artifact.sha256, 'nodes ran the code in plugins/');
      assert.deepEqual(pushdown.sha256s, [loaded.artifact.sha256]);
      assert.equal(clientSide.plugin.sha256, loaded.artifact.sha256, 'the client ran the same code');
      assert.ok(pushdown.regions.length >= 4, `fanned out to ${pushdown.regions.length} regions`);
      // Same partition into regions, same code, same rows: the answers are identical.
      assert.deepEqual(clientSide.result, pushdown.result);
      assertClose(pushdown.result, await reference(loaded, example.request), 'pushdown vs reference');
      // A plugin that streams its rows: taken region by region (concurrency 2: a window of 4
      // pieces, fewer than the regions), they and the rest of the answer are the whole answer.
      const rowStream = loaded.plugin.streamRows?.(unpack(pack(example.request)));
      if (rowStream) {
        for (const mode of ['pushdown', 'client'] as const) {
          const rows: unknown[] = [];
          const streamed = await coprocessor.run({ ...call, mode, concurrency: 2, onRows: (batch) => rows.push(...batch) });
          assert.equal(streamed.streamed?.rows, rows.length, `${mode}: rows handed over`);
          assert.deepEqual({ ...(streamed.result as object), [rowStream.field]: rows }, pushdown.result, `${mode}: streamed rows and the rest are the answer`);
          assert.equal(((streamed.result as Record<string, unknown[]>)[rowStream.field] ?? []).length, rows.length, `${mode}: the answer's row count`);
        }
      }
      if (loaded.artifact.name !== 'noop') {
        assert.equal(pushdown.totals.rowsScanned, ROWS, 'pushdown scanned every row once');
        assert.equal(clientSide.totals.rowsScanned, ROWS, 'client mode scanned every row once');
        assert.ok(clientSide.wireBytesIn > pushdown.totals.bytesScanned, 'client mode pulled the rows over the wire');
      }
    });
  }
}
