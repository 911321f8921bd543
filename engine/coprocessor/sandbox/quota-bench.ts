/**
 * What the coprocessor memory quotas cost (memory-quota.ts): the in-node filter scan over a real
 * store, and the noop call, each through a pool without quotas and a pool with both quotas set,
 * alternating (A B A B ...) so drift hits both alike. Medians per pool and their ratio.
 *
 *   ROWS=300000 REPS=9 node --require ./engine/runtime/register.js engine/coprocessor/sandbox/quota-bench.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { NodeStore } from '../../storage/store';
import { SAMPLE_SCHEMA } from '../../plugin-api';
import { syntheticRows } from '../../../workloads/datasets/synthetic';
import { compilePlugin, sha256 } from '../loader';
import { WorkerPool, type ExecRequest } from './pool';
import { median } from '../../util/statistics';

const ROWS = Number(process.env.ROWS ?? 300_000);
const REPS = Number(process.env.REPS ?? 9);
const NOOP_CALLS = 2000;
const QUOTAS = { callMb: 256, nodeMb: 512 };


function requestFor(plugin: string, body: unknown, range: [string, string]): ExecRequest {
  const file = join(__dirname, `../../../plugins/${plugin}.ts`);
  const source = readFileSync(file, 'utf8');
  return {
    sha256: sha256(source),
    js: compilePlugin(source, file),
    file,
    request: new Uint8Array(pack(body)),
    ranges: [{ start: new Uint8Array(Buffer.from(range[0])), end: new Uint8Array(Buffer.from(range[1])) }],
    limits: { maxRowsScanned: Number.MAX_SAFE_INTEGER, maxBytesScanned: Number.MAX_SAFE_INTEGER, maxResultBytes: 32 * 1024 * 1024 },
    deadlineMs: 120_000,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'copbench-quota-bench-'));
  const store = NodeStore.open(dir);
  const keepAlive = setInterval(() => {}, 1_000);
  const pools = { 'no quotas': new WorkerPool({ dataDir: dir, size: 1 }), [`quotas ${QUOTAS.callMb}/${QUOTAS.nodeMb} MiB`]: new WorkerPool({ dataDir: dir, size: 1, memory: QUOTAS }) };
  try {
    let batch: Array<{ key: Buffer; value: Buffer }> = [];
    for (const row of syntheticRows({ rows: ROWS, valueBytes: 100, seed: 42 })) {
      batch.push(row);
      if (batch.length === 10_000) {
        await store.putMany(batch);
        batch = [];
      }
    }
    if (batch.length) await store.putMany(batch);
    const filter = requestFor('filter', { schema: SAMPLE_SCHEMA, where: [{ column: 'amount', op: '>', value: 990 }], output: 'count' }, ['row:', 'row;']);
    const noop = requestFor('noop', {}, ['n:', 'n;']);
    const scanRate: Record<string, number[]> = {};
    const noopUs: Record<string, number[]> = {};
    for (const pool of Object.values(pools)) for (let i = 0; i < 2; i++) await pool.exec(filter); // warm-up
    for (let rep = 0; rep < REPS; rep++) {
      for (const [name, pool] of rep % 2 === 0 ? Object.entries(pools) : Object.entries(pools).reverse()) {
        const t0 = performance.now();
        const { stats } = await pool.exec(filter);
        (scanRate[name] ??= []).push(stats.rowsScanned / ((performance.now() - t0) / 1000));
        const t1 = performance.now();
        for (let i = 0; i < NOOP_CALLS; i++) await pool.exec(noop);
        (noopUs[name] ??= []).push(((performance.now() - t1) * 1000) / NOOP_CALLS);
      }
    }
    const [base, quota] = Object.keys(pools) as [string, string];
    for (const name of [base, quota]) process.stdout.write(`${name.padEnd(22)} filter ${(median(scanRate[name]!) / 1e6).toFixed(3)} M rows/s   noop ${median(noopUs[name]!).toFixed(1)} µs/call\n`);
    process.stdout.write(`with quotas / without: filter rate ${(median(scanRate[quota]!) / median(scanRate[base]!)).toFixed(3)}×, noop time ${(median(noopUs[quota]!) / median(noopUs[base]!)).toFixed(3)}× (${ROWS} rows, ${REPS} alternating repetitions, 1 worker each)\n`);
  } finally {
    clearInterval(keepAlive);
    await Promise.all(Object.values(pools).map((p) => p.close()));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
