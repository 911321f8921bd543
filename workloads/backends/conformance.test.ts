/**
 * The backend seam's shared conformance suite, run against every registered kind on a cluster it
 * starts itself: loading a dataset (and skipping the load when the same one is there), settling,
 * point reads and writes, per-node counters that see a call's work, a plugin call in client mode
 * and, where the kind pushes it down, in pushdown with the same answer, the same calls with their
 * rows streamed (onRows: piece by piece in key order, with the rest the same answer), and a
 * manifest part that names the kind and its durability. A kind this machine cannot run is skipped with the reason.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { datasetRange, datasetRows, datasetSchema } from '../datasets/catalog';
import { syntheticKey } from '../datasets/synthetic';
import { answerChecksum } from '../driver/checksum';
import { diffNodeStats, sumOverNodes } from '../driver/metrics/node-stats';
import { loopbackKind } from '../network/loopback';
import { loadSpec } from '../spec';
import type { BackendKind } from './backend';
import { backendKinds } from './registry';

const ROWS = 3000;

function unavailable(kind: BackendKind, spec: ReturnType<typeof loadSpec>): string | false {
  try {
    kind.checkAvailable(spec);
    return false;
  } catch (err) {
    return `not runnable on this machine: ${(err as Error).message}`;
  }
}

for (const kind of backendKinds()) {
  const spec = loadSpec('filter', [`backend.kind=${kind.name}`, `dataset.rows=${ROWS}`, 'cluster.splitKeys=1000'], 'ci');
  describe(`backend ${kind.name}`, { skip: unavailable(kind, spec) }, () => {
    test('loads, skips a second load, settles, reads and writes points, counts node work, and answers plugin calls alike in both modes', { timeout: 120_000 }, async () => {
      const backend = await kind.open(spec, { log: () => undefined, network: loopbackKind.open() });
      try {
        const report = backend.report();
        assert.equal(report.kind, kind.name);
        assert.ok(report.version && report.durability, 'the manifest part says what ran and how writes are made durable');

        const load = await backend.ensureDataset(spec, { log: () => undefined });
        assert.equal(load.skipped, false);
        assert.equal(load.rows, ROWS);
        assert.equal((await backend.ensureDataset(spec, { log: () => undefined })).skipped, true, 'the same dataset is not loaded twice');
        const layout = await backend.settle(() => undefined);
        assert.ok(layout.pieces >= 1 && layout.nodes >= 1, JSON.stringify(layout));

        const client = await backend.client();
        try {
          const rows = [...(datasetRows(spec.dataset) as Iterable<{ key: Buffer; value: Buffer }>)];
          assert.deepEqual(await client.get(syntheticKey(17)), rows[17]!.value, 'a point read returns the loaded value');
          await client.set(syntheticKey(17), Buffer.from('changed'));
          assert.deepEqual(await client.get(syntheticKey(17)), Buffer.from('changed'), 'a point write is read back');
          await client.set(syntheticKey(17), rows[17]!.value);

          const request = { schema: datasetSchema(spec.dataset), where: [{ column: 'amount', op: '>', value: 900 }] };
          const range = datasetRange();
          const before = await backend.sampleNodes();
          const clientSide = await client.coprocessor.run({ plugin: 'filter', request, start: range.start, end: range.end, mode: 'client' });
          const after = await backend.sampleNodes();
          assert.equal(clientSide.totals.rowsScanned, ROWS);
          assert.ok(clientSide.wireBytesIn > ROWS * spec.dataset.valueBytes, 'client mode pulled every row over the wire');
          const delta = diffNodeStats(before, after);
          assert.ok(sumOverNodes(delta, (n) => n.netOutBytes) >= clientSide.wireBytesIn * 0.9, 'the nodes counted the bytes they sent');
          assert.ok(sumOverNodes(delta, (n) => n.cpuUserUs + n.cpuSysUs) > 0, 'the nodes counted CPU');

          const modes: Array<'client' | 'pushdown'> = ['client'];
          if (!kind.pushdownRefusal || kind.pushdownRefusal('filter', request) === null) {
            const pushed = await client.coprocessor.run({ plugin: 'filter', request, start: range.start, end: range.end, mode: 'pushdown' });
            assert.equal(answerChecksum(pushed.result), answerChecksum(clientSide.result), 'pushdown and client mode give the same answer');
            assert.ok(pushed.wireBytesIn < clientSide.wireBytesIn, 'pushdown moved fewer bytes');
            modes.push('pushdown');
          }

          // The filter's rows streamed: handed over piece by piece (the data spans several), in key order.
          for (const mode of modes) {
            const batches: unknown[][] = [];
            const streamed = await client.coprocessor.run<typeof request, { count: number; rows: Array<[Uint8Array, Uint8Array]> }>({ plugin: 'filter', request, start: range.start, end: range.end, mode, onRows: (rows) => batches.push(rows) });
            const rows = batches.flat() as Array<[Uint8Array, Uint8Array]>;
            assert.equal(streamed.streamed?.field, 'rows', `${mode}: the rows streamed`);
            assert.equal(streamed.streamed.rows, rows.length, `${mode}: rows handed over`);
            assert.equal(streamed.result.rows.length, rows.length, `${mode}: the answer keeps a placeholder of the rows' count`);
            assert.ok(batches.length > 1, `${mode}: handed over piece by piece (${batches.length} hand-overs)`);
            assert.equal(answerChecksum({ ...streamed.result, rows }), answerChecksum(clientSide.result), `${mode}: the streamed rows and the rest are the unstreamed answer`);
            for (let i = 1; i < rows.length; i++) assert.ok(Buffer.compare(Buffer.from(rows[i - 1]![0]), Buffer.from(rows[i]![0])) < 0, `${mode}: row ${i} is after row ${i - 1} in key order`);
          }
        } finally {
          client.close();
        }
      } finally {
        await backend.close();
      }
    });
  });
}
