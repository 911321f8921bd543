/**
 * `npm run cluster -- --nodes 3 --data-dir data/`: starts a long-lived local cluster (placement +
 * N nodes on loopback), deploys plugins/ and redeploys a plugin file whenever it changes (hot
 * reload), prints where everything is, and shuts down cleanly on Ctrl-C.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runCommand, UsageError } from '../cli/flags';
import { LocalCluster } from './local-cluster';
import { watchDirectory, type DeployOutcome } from './plugin-deployer';

const FLAGS = {
  nodes: { type: 'number', help: 'number of storage nodes', default: 3, value: '<n>' },
  'data-dir': { type: 'string', help: 'keep data here (reused on the next start); a temp dir removed at exit when omitted', value: '<dir>' },
  host: { type: 'string', help: 'address every process binds', default: '127.0.0.1', value: '<addr>' },
  port: { type: 'number', help: "the placement service's port, for an address that stays the same across restarts (0: any free port)", default: 0, value: '<port>' },
  'admin-token': { type: 'string', help: 'admin token (random when omitted; or env COPBENCH_ADMIN_TOKEN)', value: '<token>' },
  'split-keys': { type: 'number', help: 'split regions past this many keys', value: '<n>' },
  'split-bytes': { type: 'number', help: 'split regions past this many bytes', value: '<n>' },
  'no-balance': { type: 'boolean', help: 'do not move regions between nodes' },
  'plugins-dir': { type: 'string', help: "plugins deployed at start and watched (default: this repository's plugins/)", value: '<dir>' },
  'no-watch': { type: 'boolean', help: 'do not redeploy plugin files when they change' },
} as const;

const USAGE = 'npm run cluster -- [--nodes 3] [--data-dir data/] [options]';

runCommand({ usage: USAGE, description: 'Starts a local copbench cluster (placement service + storage nodes) and keeps it running until Ctrl-C.', flags: FLAGS }, async (flags) => {
  if (!Number.isInteger(flags.nodes) || flags.nodes < 1 || flags.nodes > 64) throw new UsageError('--nodes must be an integer from 1 to 64');
  if (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535) throw new UsageError('--port must be an integer from 0 to 65535');
  const pluginsDir = path.resolve(flags['plugins-dir'] ?? path.join(__dirname, '..', '..', 'plugins'));
  if (!existsSync(pluginsDir)) throw new UsageError(`--plugins-dir ${pluginsDir} does not exist`);
  // Signal handlers go in before anything starts or is announced: a SIGINT that arrives before
  // them ends this process by the default action and leaves placement and the nodes running. Three
  // ci-local runs left such a pair, data dirs and all, after a test sent Ctrl-C as soon as the
  // address line appeared.
  let cluster: LocalCluster | undefined;
  let stopWatching: (() => void) | undefined;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (!cluster) return; // still starting: stopped as soon as it is up
    stopWatching?.();
    process.stdout.write('\nstopping cluster...\n');
    void cluster.stop().then(() => {
      process.stdout.write('stopped.\n');
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.write(`starting placement + ${flags.nodes} node(s)...\n`);
  cluster = await LocalCluster.start({
    nodes: flags.nodes,
    dataDir: flags['data-dir'],
    host: flags.host,
    placementPort: flags.port,
    adminToken: flags['admin-token'] ?? process.env.COPBENCH_ADMIN_TOKEN,
    splitKeys: flags['split-keys'],
    splitBytes: flags['split-bytes'],
    autoBalance: !flags['no-balance'],
    pluginsDir,
  });
  if (stopping) {
    // Ctrl-C while starting: stop now that there is something to stop.
    stopping = false;
    stop();
    return;
  }
  // A load error reads `CODE file: CODE: reason`; the file is already on the line.
  const showOutcome = (o: DeployOutcome): string => `${o.ok ? 'ok    ' : 'FAILED'} ${o.file}: ${o.message.replace(/^([A-Z_]+) \S+: \1: /, '$1: ').replace(/\s+/g, ' ')}`;
  const lines = [
    `placement  ${cluster.placementAddress}   (PD.MAP, PD.NODES, INFO; admin: PD.SPLIT, PD.MOVE)`,
    ...[...cluster.nodes.values()].sort((a, b) => a.id - b.id).map((n) => `node ${n.id}     ${n.host}:${n.port}   pid ${n.pid}   data ${n.dataDir}`),
    `admin token ${cluster.adminToken}`,
    `data dir   ${cluster.dataDir}${flags['data-dir'] ? '' : ' (temporary: removed at exit)'}`,
    `plugins    ${pluginsDir}${flags['no-watch'] ? '' : ' (watched: a saved file is redeployed, a deleted one undeployed)'}`,
    ...cluster.pluginDeployments.map((o) => `  ${showOutcome(o)}`),
    '',
    '# for npm run plugin (deploy, list, undeploy) in another shell:',
    `export COPBENCH_PLACEMENT=${cluster.placementAddress} COPBENCH_ADMIN_TOKEN=${cluster.adminToken}`,
    '',
    `try: redis-cli -p ${[...cluster.nodes.values()][0]!.port} SET hello world`,
    '     (a key owned by another node answers MOVED <region> <host:port>)',
    'Ctrl-C stops the cluster.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  // Hot reload: each outcome is printed as it happens (the cluster's own watcher would only record it).
  stopWatching = flags['no-watch']
    ? undefined
    : watchDirectory(cluster.placementAdmin(), pluginsDir, (o) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] plugin ${showOutcome(o)}\n`));
  // Report a process that dies on its own instead of leaving a half-cluster running silently.
  for (const p of [cluster.placement, ...cluster.nodes.values()]) {
    void p.exited.then((code) => {
      if (!stopping) process.stderr.write(`warning: ${p.role}${p.role === 'node' ? ` ${p.id}` : ''} exited (code ${code}); see ${p.logFile}\n`);
    });
  }
});
