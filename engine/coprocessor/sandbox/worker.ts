/**
 * A plugin worker thread: opens the node's LMDB environment, evaluates plugin code (cached by
 * sha256), and runs one `handle` call at a time over CheckedStorage, reporting rows/bytes scanned
 * and the thread's CPU time. Deadlines and heap limits are enforced from outside (terminate,
 * resourceLimits); scan budgets, range checks and the result cap from inside.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { pack, unpack } from 'msgpackr';
import { NodeStore } from '../../storage/store';
import { evaluatePlugin } from '../loader';
import { CheckedStorage, type RowSource } from '../checked-storage';
import { threadCpuUs } from './thread-cpu';
import { CallMemoryMeter, MemoryLedger } from './memory-quota';
import { PluginStateStore } from '../state-store';
import { CoprError, type EndSession, type ExecReply, type ExecTask, type StateReport, type WorkerInit, type WriteReply, type WriteRequest } from './messages';
import type { KeyRange, KV, Plugin } from '../../plugin-api';

const init = workerData as WorkerInit;
lowerPriority(init.nice);

/**
 * Renices this thread (Linux: a thread is a task with its own id, /proc/thread-self names it, and
 * setpriority applies to that task alone). Raising nice needs no privilege. Elsewhere: no-op.
 */
function lowerPriority(nice: number): void {
  if (!(nice > 0) || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // No /proc or not permitted: the worker runs at the main thread's priority, as without the flag.
  }
}
const store = NodeStore.openReader(init.dataDir);
const memory = new CallMemoryMeter(init.memory.quotas, new MemoryLedger(init.memory.ledger), init.memory.slot);
/** Plugin state of the sessions whose calls the pool routes to this worker (see WorkerPool affinity). */
const stateStore = new PluginStateStore(init.state.quotaBytes, init.state.quotaName);
const pendingWrites = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
let nextWriteId = 1;

/** Writes go to the main thread, whose store owns the write-ahead log; resolves once durable. */
function writeThroughNode(key: Uint8Array, value: Uint8Array | null): Promise<void> {
  const writeId = nextWriteId++;
  return new Promise((resolve, reject) => {
    pendingWrites.set(writeId, { resolve, reject });
    parentPort!.postMessage({ type: 'write', writeId, key, value } satisfies WriteRequest);
  });
}
/**
 * Evaluated plugins by sha256, and the load error of code that failed to evaluate: the pool sends a
 * plugin's source to a worker only with its first call, so later calls must find the outcome here.
 */
const plugins = new Map<string, Plugin | Error>();
const BATCH_ROWS = 1024;
const BATCH_BYTES = 256 * 1024;

const lmdbRows: RowSource = {
  get: (key) => store.get(Buffer.from(key.buffer, key.byteOffset, key.byteLength)),
  scanBatches(range: KeyRange, options: { limit: number; reverse: boolean }): Iterable<KV[]> {
    return batched(store.scan({ start: Buffer.from(range.start), end: Buffer.from(range.end) }, { limit: options.limit, reverse: options.reverse }));
  },
  visitViews: (range, limit, visit, meter) => store.visitViews({ start: Buffer.from(range.start), end: Buffer.from(range.end) }, limit, visit, meter),
  put: (key, value) => writeThroughNode(key, value),
  delete: (key) => writeThroughNode(key, null),
};

/** Rows in batches of BATCH_ROWS rows or BATCH_BYTES bytes. */
function* batched(rows: Iterable<KV>): Iterable<KV[]> {
  let batch: KV[] = [];
  let bytes = 0;
  for (const row of rows) {
    batch.push(row);
    bytes += row.key.length + row.value.length;
    if (batch.length >= BATCH_ROWS || bytes >= BATCH_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

function pluginFor(task: ExecTask): Plugin {
  let plugin = plugins.get(task.sha256);
  if (!plugin) {
    if (task.js === undefined) throw new CoprError('COPR_WORKER_CRASH', `the worker was sent no code for plugin ${task.sha256} and has none cached`);
    try {
      plugin = evaluatePlugin(task.js, task.file);
    } catch (err) {
      plugin = err instanceof Error ? err : new Error(String(err));
    }
    plugins.set(task.sha256, plugin);
  }
  if (plugin instanceof Error) throw plugin;
  return plugin;
}

/** Thread CPU time when the previous call ended (or the worker became ready). */
let cpuMarkUs = 0;

/**
 * The `signal` in a call's context. In-node, a deadline terminates the worker outright (a busy loop
 * never yields to an abort), so it never fires here; it exists so plugins see the same context in
 * both modes. Created only when a plugin reads it: an AbortController per call was ~4 µs of a noop
 * call's ~13 µs worker run (CPU profile of the WorkerPool micro-benchmark, exec-bench.ts).
 */
function contextWithLazySignal<T extends object>(ctx: T): T & { readonly signal: AbortSignal } {
  let signal: AbortSignal | undefined;
  return Object.defineProperty(ctx, 'signal', { enumerable: true, get: () => (signal ??= new AbortController().signal) }) as T & { readonly signal: AbortSignal };
}

async function run(task: ExecTask): Promise<ExecReply> {
  const startedMs = performance.now();
  const ranges = task.ranges.map((r) => ({ start: Buffer.from(r.start), end: Buffer.from(r.end) }));
  let storage: CheckedStorage | undefined;
  const stats = (): ExecReply['stats'] => ({
    rowsScanned: storage?.counters.rowsScanned ?? 0,
    bytesScanned: storage?.counters.bytesScanned ?? 0,
    rowsWritten: storage?.counters.rowsWritten ?? 0,
    cpuUs: cpuSinceMark(),
    runUs: (performance.now() - startedMs) * 1000,
    state: { heldBytes: stateStore.heldBytes, entries: stateStore.size, counters: { ...stateStore.counters } },
  });
  memory.start();
  try {
    // The node acknowledged every write this call may depend on before sending it.
    store.readLatest();
    const plugin = pluginFor(task);
    storage = new CheckedStorage(lmdbRows, ranges, plugin.writes === true, task.limits, undefined, memory.enabled ? () => memory.check() : undefined);
    const state = stateStore.view(task.state && { sha256: task.sha256, ...task.state, ranges });
    const partial = await plugin.handle(unpack(task.request), contextWithLazySignal({ ranges, storage, where: 'node' as const, state }));
    // A copy: msgpackr packs into a shared buffer, which must not be transferred away.
    const encoded = new Uint8Array(pack(partial));
    if (encoded.length > task.limits.maxResultBytes) {
      throw new CoprError('COPR_RESULT_TOO_LARGE', `partial result of ${encoded.length} bytes is over the cap of ${task.limits.maxResultBytes} bytes`);
    }
    // A plugin that caught a quota error from a scan is refused here all the same.
    memory.checkWith(encoded.byteLength);
    return { type: 'done', id: task.id, partial: encoded, stats: stats() };
  } catch (err) {
    if (err instanceof CoprError) return { type: 'failed', id: task.id, code: err.code, message: err.message, stats: stats() };
    const e = err as { name?: string; message?: string; code?: string };
    const where = e.name === 'PluginLoadError' ? `could not load: ${e.message}` : `threw ${e?.name ?? 'a value'}: ${e?.message ?? String(err)}`;
    return { type: 'failed', id: task.id, code: 'COPR_PLUGIN_ERROR', message: `plugin ${where}`, stats: stats() };
  } finally {
    memory.stop();
  }
}

parentPort!.on('message', (msg: ExecTask | WriteReply | EndSession) => {
  if (msg.type === 'end-session') {
    stateStore.dropSession(msg.session);
    parentPort!.postMessage({ type: 'state', state: { heldBytes: stateStore.heldBytes, entries: stateStore.size, counters: { ...stateStore.counters } } } satisfies StateReport);
    return;
  }
  if (msg.type === 'written') {
    const pending = pendingWrites.get(msg.writeId);
    pendingWrites.delete(msg.writeId);
    if (msg.error === undefined) pending?.resolve();
    else pending?.reject(new Error(`write failed on the node: ${msg.error}`));
    return;
  }
  const task = msg;
  void run(task).then((reply) => {
    if (reply.type === 'done') parentPort!.postMessage(reply, [reply.partial.buffer as ArrayBuffer]);
    else parentPort!.postMessage(reply);
  });
});
/**
 * The thread's CPU time since the previous call ended: this call plus receiving its task (an idle
 * worker uses none). One /proc read per call instead of two: each read was ~5 µs of a noop call's
 * worker run (CPU profile of exec-bench.ts). The kernel advances schedstat at context switches and
 * scheduler ticks, so a reading can lag by up to a tick: two reads inside one short call used to
 * give 0 µs for noop; differences between consecutive call ends add up to the thread's real total.
 */
function cpuSinceMark(): number {
  const now = threadCpuUs();
  const used = now - cpuMarkUs;
  cpuMarkUs = now;
  return used;
}

cpuMarkUs = threadCpuUs();
parentPort!.postMessage({ type: 'ready' });
