/** Entry point of a storage node process. Prints one JSON line `{"ready":true,...}` once serving. */
import { runCommand, UsageError } from '../cli/flags';
import { NodeServer } from './node-server';
import { DEFAULT_COPR_LIMITS } from './coprocessor-host';
import { DEFAULT_READER_LIMITS } from '../protocol/resp';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RespConnection } from '../client/connection';
import { writeFileAtomic } from '../util/atomic-file';

/** Where a node started without --node-id keeps the id placement gave it (next to its LMDB files). */
const NODE_ID_FILE = 'node-id';

const FLAGS = {
  'node-id': { type: 'number', help: 'this node\'s id (default: the one stored in the data dir, else a new one from placement); stable across restarts', value: '<n>' },
  'data-dir': { type: 'string', help: 'LMDB environment directory', value: '<dir>' },
  host: { type: 'string', help: 'address to bind', default: '127.0.0.1', value: '<addr>' },
  'advertise-host': { type: 'string', help: 'address registered with placement, which clients and other nodes connect to (default: --host; set it when --host is 0.0.0.0)', value: '<addr>' },
  port: { type: 'number', help: 'port to bind (0 = any free port)', default: 0, value: '<port>' },
  placement: { type: 'string', help: 'placement service address (or env COPBENCH_PLACEMENT)', value: '<host:port>' },
  'admin-token': { type: 'string', help: 'the cluster\'s admin token (or env COPBENCH_ADMIN_TOKEN)', value: '<token>' },
  'heartbeat-ms': { type: 'number', help: 'heartbeat interval', default: 500, value: '<ms>' },
  'copr-workers': { type: 'number', help: 'plugin worker threads', default: DEFAULT_COPR_LIMITS.workers, value: '<n>' },
  'copr-heap-mb': { type: 'number', help: 'heap limit of each plugin worker', default: DEFAULT_COPR_LIMITS.heapMb, value: '<MiB>' },
  'copr-max-queue': { type: 'number', help: 'admission control: coprocessor calls waiting for a worker at most; more are refused with COPR_BUSY (default: no bound)', value: '<n>' },
  'copr-nice': { type: 'number', help: 'priority: OS nice value of the plugin worker threads (0..19); above 0 the node serves point operations ahead of plugin work', default: 0, value: '<n>' },
  'copr-call-memory-mb': { type: 'number', help: 'memory quota of one coprocessor call (heap growth of its worker plus its result); over it the call fails with COPR_MEMORY (default: none)', value: '<MiB>' },
  'copr-memory-mb': { type: 'number', help: 'memory quota of all running coprocessor calls together; a call that finds it used up is refused with COPR_BUSY (default: none)', value: '<MiB>' },
  'copr-state-mb': { type: 'number', help: 'memory quota of plugin state kept across the calls of sessions (COPR.EXEC SESSION), all workers together, each an equal share; least recently used state is evicted, a single state over a share is refused with COPR_STATE_TOO_LARGE; 0: keep none', default: DEFAULT_COPR_LIMITS.stateMb, value: '<MiB>' },
  'copr-deadline-ms': { type: 'number', help: 'default deadline of a plugin call', default: DEFAULT_COPR_LIMITS.deadlineMs, value: '<ms>' },
  'max-request-mb': { type: 'number', help: 'largest request accepted, in all (its arguments together)', default: DEFAULT_READER_LIMITS.maxRequestBytes / (1024 * 1024), value: '<MiB>' },
  'copr-max-result-bytes': { type: 'number', help: 'cap on one partial result', default: DEFAULT_COPR_LIMITS.maxResultBytes, value: '<bytes>' },
} as const;

const USAGE = 'npm run node -- --data-dir <dir> --placement <host:port> [--node-id n] [--host addr] [--advertise-host addr] [--port n] [options]';

runCommand({ usage: USAGE, description: 'Runs one copbench storage node (RESP2 over LMDB).', flags: FLAGS }, async (flags) => {
  const adminToken = flags['admin-token'] ?? process.env.COPBENCH_ADMIN_TOKEN;
  if (!flags['data-dir']) throw new UsageError('--data-dir is required');
  const givenId = flags['node-id'];
  if (givenId !== undefined && !(Number.isInteger(givenId) && givenId >= 1)) throw new UsageError(`--node-id must be an integer >= 1, got ${givenId}`);
  const placement = flags.placement ?? process.env.COPBENCH_PLACEMENT;
  if (!placement) throw new UsageError('--placement (or COPBENCH_PLACEMENT) is required');
  const advertiseHost = flags['advertise-host'] ?? flags.host;
  if (['0.0.0.0', '::'].includes(advertiseHost)) throw new UsageError(`--host ${flags.host} binds every address: say which one other machines reach this node at with --advertise-host`);
  if (!adminToken) throw new UsageError('--admin-token (or COPBENCH_ADMIN_TOKEN) is required');
  const maxQueue = flags['copr-max-queue'];
  if (maxQueue !== undefined && !(Number.isInteger(maxQueue) && maxQueue >= 0)) throw new UsageError(`--copr-max-queue must be an integer >= 0, got ${maxQueue}`);
  const nice = flags['copr-nice'];
  if (!(Number.isInteger(nice) && nice >= 0 && nice <= 19)) throw new UsageError(`--copr-nice must be an integer from 0 to 19, got ${nice}`);
  const memoryQuota = (flag: 'copr-call-memory-mb' | 'copr-memory-mb'): number => {
    const mb = flags[flag];
    if (mb === undefined) return Infinity;
    if (!(Number.isFinite(mb) && mb > 0)) throw new UsageError(`--${flag} must be a number of MiB > 0, got ${mb}`);
    return mb;
  };
  const stateMb = flags['copr-state-mb'];
  if (!(Number.isFinite(stateMb) && stateMb >= 0)) throw new UsageError(`--copr-state-mb must be a number of MiB >= 0, got ${stateMb}`);
  const nodeId = givenId ?? (await nodeIdOf(flags['data-dir'], placement, adminToken));
  const node = new NodeServer({
    nodeId,
    dataDir: flags['data-dir'],
    host: flags.host,
    advertiseHost,
    port: flags.port,
    placement,
    adminToken,
    heartbeatMs: flags['heartbeat-ms'],
    maxRequestBytes: flags['max-request-mb'] * 1024 * 1024,
    coprocessor: { workers: flags['copr-workers'], heapMb: flags['copr-heap-mb'], deadlineMs: flags['copr-deadline-ms'], maxResultBytes: flags['copr-max-result-bytes'], workerNice: nice, callMemoryMb: memoryQuota('copr-call-memory-mb'), nodeMemoryMb: memoryQuota('copr-memory-mb'), stateMb, ...(flags['copr-max-queue'] !== undefined ? { maxQueued: flags['copr-max-queue'] } : {}) },
  });
  const port = await node.start(() => process.exit(0));
  // The data dir accepted this id: remember it, so a later start without --node-id finds it.
  if (!existsSync(path.join(flags['data-dir'], NODE_ID_FILE))) writeFileAtomic(path.join(flags['data-dir'], NODE_ID_FILE), `${nodeId}\n`, { durable: true });
  process.stdout.write(`${JSON.stringify({ ready: true, role: 'node', nodeId, host: advertiseHost, port, pid: process.pid })}\n`);
  const shutdown = (): void => void node.stop().then(() => process.exit(0));
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
});

/**
 * The id of a node started without --node-id: the one its data dir remembers (node-id, written the
 * first time), else a new one from placement (PD.NODE.ALLOC), kept in the data dir before use.
 */
async function nodeIdOf(dataDir: string, placement: string, adminToken: string): Promise<number> {
  const file = path.join(dataDir, NODE_ID_FILE);
  if (existsSync(file)) {
    const stored = Number(readFileSync(file, 'utf8').trim());
    if (!(Number.isInteger(stored) && stored >= 1)) throw new UsageError(`${file} does not hold a node id (${JSON.stringify(readFileSync(file, 'utf8').slice(0, 20))}): pass --node-id`);
    return stored;
  }
  const at = placement.lastIndexOf(':');
  const conn = new RespConnection({ host: placement.slice(0, at), port: Number(placement.slice(at + 1)), adminToken, requestTimeoutMs: 10_000 });
  try {
    const id = Number(await conn.call(['PD.NODE.ALLOC']));
    mkdirSync(dataDir, { recursive: true });
    writeFileAtomic(file, `${id}\n`, { durable: true });
    return id;
  } finally {
    conn.close();
  }
}
