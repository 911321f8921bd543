/**
 * The part of a netns run outside the namespaces: removes what killed runs left, builds this run's
 * hosts, runs the client side (this same command) inside the client namespace as a child process,
 * and removes every host when the child ends — also on Ctrl-C / SIGTERM and on any error. A run
 * killed with kill -9 cannot clean up; its namespaces are removed at the next start (the owner
 * pid in their names is gone), and its client side exits on its own when it sees its parent go.
 */
import { spawn } from 'node:child_process';
import { createTopology, destroyNamespaces, namespacesOf, removeStaleNamespaces, type Topology } from './topology';

/** The environment variable that carries the topology to the client side. */
export const TOPOLOGY_ENV = 'COPBENCH_NETNS_TOPOLOGY';
/** The supervisor's pid, so the client side can exit when it is gone. */
export const SUPERVISOR_ENV = 'COPBENCH_NETNS_SUPERVISOR';

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export interface SuperviseOptions {
  argv: string[];
  nodes: number;
  log(line: string): void;
}

/** Builds the hosts, runs argv inside the client namespace, tears down; resolves to the child's exit code. */
export async function superviseClient(options: SuperviseOptions): Promise<number> {
  const stale = removeStaleNamespaces();
  if (stale.removed.length > 0) options.log(`netns: removed ${stale.removed.length} namespace(s) an earlier run left: ${stale.removed.join(', ')}`);
  for (const p of stale.problems) options.log(`netns: warning: ${p}`);
  const topology = createTopology(process.pid, options.nodes);
  options.log(`netns: ${topology.hosts.map((h) => `${h.name} ${h.address}`).join(', ')} on ${topology.subnet} (namespaces ${topology.switchNamespace.replace(/-sw$/, '-*')})`);
  let tornDown = false;
  const teardown = (): void => {
    if (tornDown) return;
    tornDown = true;
    for (const p of destroyNamespaces(namespacesOf(topology))) process.stderr.write(`netns: cleanup: ${p}\n`);
  };
  // 'exit' runs only synchronous code: destroyNamespaces is synchronous for this reason.
  process.on('exit', teardown);
  try {
    return await runInside(topology, options.argv);
  } finally {
    teardown();
    process.removeListener('exit', teardown);
  }
}

function runInside(topology: Topology, argv: string[]): Promise<number> {
  const client = topology.hosts.find((h) => h.name === 'client')!;
  const child = spawn('ip', ['netns', 'exec', client.namespace, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [TOPOLOGY_ENV]: JSON.stringify(topology), [SUPERVISOR_ENV]: String(process.pid) },
  });
  let signalled: NodeJS.Signals | undefined;
  // Ctrl-C reaches the child too (same process group); SIGTERM may reach only us: pass it on, and
  // stay alive until the child has ended so that the teardown runs.
  const forward = (signal: NodeJS.Signals): void => {
    signalled ??= signal;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      for (const s of signals) process.removeListener(s, forward);
      const bySignal = signal ?? signalled;
      resolve(code ?? (bySignal ? (SIGNAL_EXIT[bySignal] ?? 1) : 1));
    });
  });
}

/** Inside the client namespace: exits when the supervisor is gone (kill -9), so nothing runs on orphaned. */
export function exitWithSupervisor(supervisorPid: number, pollMs = 500): void {
  const timer = setInterval(() => {
    if (process.ppid !== supervisorPid) {
      process.stderr.write(`netns: the supervising process ${supervisorPid} is gone; stopping\n`);
      process.exit(1);
    }
  }, pollMs);
  timer.unref();
}
