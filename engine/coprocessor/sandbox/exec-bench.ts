/**
 * Micro-benchmark of WorkerPool.exec with the `noop` plugin, in-process (no network, no node
 * server): per-call wall time, the pool's hand-off and the worker's run, back to back. Steadier
 * than `npm run bench -- --only coprocessor` for A/B of the pool and worker hot paths.
 *
 *   N=3000 node --require ./engine/runtime/register.js engine/coprocessor/sandbox/exec-bench.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { NodeStore } from '../../storage/store';
import { compilePlugin, sha256 } from '../loader';
import { WorkerPool, type ExecRequest } from './pool';
import { median } from '../../util/statistics';

const CALLS_PER_ROUND = Number(process.env.N ?? 3000);
const ROUNDS = 3;
const WARMUP_CALLS = 500;


async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'copbench-exec-bench-'));
  const store = NodeStore.open(dir);
  // The pool's workers are unref'd (a node's server keeps its event loop alive).
  const keepAlive = setInterval(() => {}, 1_000);
  const file = join(__dirname, '../../../plugins/noop.ts');
  const source = readFileSync(file, 'utf8');
  const js = compilePlugin(source, file);
  const pool = new WorkerPool({ dataDir: dir, size: 2 });
  const request = (): ExecRequest => ({
    sha256: sha256(source),
    js,
    file,
    // An exact-size copy, as the node's COPR.EXEC hands over (pack returns a view of a shared buffer,
    // and posting a view copies the whole buffer behind it).
    request: new Uint8Array(pack({})),
    ranges: [{ start: new Uint8Array(Buffer.from('n:')), end: new Uint8Array(Buffer.from('n;')) }],
    limits: { maxRowsScanned: Number.MAX_SAFE_INTEGER, maxBytesScanned: Number.MAX_SAFE_INTEGER, maxResultBytes: 32 * 1024 * 1024 },
    deadlineMs: 30_000,
  });
  try {
    for (let i = 0; i < WARMUP_CALLS; i++) await pool.exec(request());
    for (let round = 0; round < ROUNDS; round++) {
      const wall: number[] = [];
      const handoff: number[] = [];
      const run: number[] = [];
      const cpu: number[] = [];
      const started = performance.now();
      for (let i = 0; i < CALLS_PER_ROUND; i++) {
        const t0 = performance.now();
        const { stats } = await pool.exec(request());
        wall.push((performance.now() - t0) * 1000);
        handoff.push(stats.handoffUs);
        run.push(stats.runUs);
        cpu.push(stats.cpuUs);
      }
      const callsPerSecond = CALLS_PER_ROUND / ((performance.now() - started) / 1000);
      process.stdout.write(
        `round ${round}: median exec ${median(wall).toFixed(1)} µs = hand-off ${median(handoff).toFixed(1)} + worker run ${median(run).toFixed(1)} (+ pool); worker cpu ${median(cpu).toFixed(1)} µs; ${callsPerSecond.toFixed(0)} calls/s\n`,
      );
    }
  } finally {
    clearInterval(keepAlive);
    await pool.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
