/** Entry point of the placement service process. Prints one JSON line `{"ready":true,...}` once serving. */
import { runCommand, UsageError } from '../cli/flags';
import { DEFAULT_POLICY, PlacementServer } from './placement-server';

const FLAGS = {
  'data-dir': { type: 'string', help: 'where the cluster map is persisted', value: '<dir>' },
  host: { type: 'string', help: 'address to bind', default: '127.0.0.1', value: '<addr>' },
  port: { type: 'number', help: 'port to bind (0 = any free port)', default: 0, value: '<port>' },
  'admin-token': { type: 'string', help: 'the cluster\'s admin token (or env COPBENCH_ADMIN_TOKEN)', value: '<token>' },
  'split-keys': { type: 'number', help: 'split a region past this many keys', default: DEFAULT_POLICY.splitKeys, value: '<n>' },
  'split-bytes': { type: 'number', help: 'split a region past this many bytes', default: DEFAULT_POLICY.splitBytes, value: '<n>' },
  'node-timeout-ms': { type: 'number', help: 'mark a node down after this long without heartbeats', default: 3000, value: '<ms>' },
  'no-balance': { type: 'boolean', help: 'do not move regions to balance nodes' },
  'no-split': { type: 'boolean', help: 'do not split regions automatically' },
} as const;

const USAGE = 'npm run placement -- --data-dir <dir> [--host addr] [--port n] [options]';

runCommand({ usage: USAGE, description: 'Runs the copbench placement service (region map, splits, balancing).', flags: FLAGS }, async (flags) => {
  const adminToken = flags['admin-token'] ?? process.env.COPBENCH_ADMIN_TOKEN;
  if (!flags['data-dir']) throw new UsageError('--data-dir is required');
  if (!adminToken) throw new UsageError('--admin-token (or COPBENCH_ADMIN_TOKEN) is required');
  const placement = new PlacementServer({
    dataDir: flags['data-dir'],
    host: flags.host,
    port: flags.port,
    adminToken,
    policy: { splitKeys: flags['split-keys'], splitBytes: flags['split-bytes'] },
    nodeTimeoutMs: flags['node-timeout-ms'],
    autoBalance: !flags['no-balance'],
    autoSplit: !flags['no-split'],
  });
  const port = await placement.start(() => process.exit(0));
  process.stdout.write(`${JSON.stringify({ ready: true, role: 'placement', host: flags.host, port, pid: process.pid })}\n`);
  const shutdown = (): void => void placement.stop().then(() => process.exit(0));
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
});
