/**
 * Security: admin commands (deploy, undeploy, region split and move, register, install, map and
 * data transfer, shutdown) are refused without the admin token and with a wrong one, and change
 * nothing; the right token is accepted; every process listens on loopback only (checked in the
 * kernel's socket table); oversized requests and oversized plugin sources are refused with a clear
 * error and the processes keep serving.
 */
import type { LocalCluster } from '../engine/cluster/local-cluster';
import type { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { ClientError } from '../engine/client/errors';
import { RespError } from '../engine/protocol/resp';
import { MAX_PLUGIN_SOURCE_BYTES } from '../engine/coprocessor/loader';
import { loadRows, syntheticRows } from '../workloads/datasets/synthetic';
import { Checks, aggregateAmount, isRunning, withCluster, withConnection } from './common';
import { isLoopback, listenAddresses } from './listen-addresses';
import { pingOk, rawExchange } from './raw-resp';
import { allOfFigure, equalFigure, type Scenario, type ScenarioContext } from './types';

export interface SecurityParams {
  nodes: number;
  rows: number;
}

type Target = { role: 'placement' | 'node'; host: string; port: number };

/** The nodes' --max-request-mb in this scenario. */
const REQUEST_CAP_MB = 4;
const MIB = 1024 * 1024;

/** MSET of two 3 MiB values: over the 4 MiB cap once the second value's length is read (its bytes are never sent). */
const OVER_CAP = Buffer.concat([Buffer.from(`*5\r\n$4\r\nMSET\r\n$2\r\nk1\r\n$${3 * MIB}\r\n`), Buffer.alloc(3 * MIB, 0x62), Buffer.from(`\r\n$2\r\nk2\r\n$${3 * MIB}\r\n`)]);

/** A plugin that would read every key if it were ever deployed. */
const EVIL_PLUGIN = `import { definePlugin } from '../engine/plugin-api';\nexport default definePlugin({ name: 'sec-evil', version: '1.0.0', apiVersion: 1, handle: () => 'pwned', merge: (p: unknown[]) => p });\n`;

/** The admin commands tried on each kind of process. */
function adminCommands(target: Target, region: { id: number; epoch: number }, otherNode: number): Array<{ what: string; args: string[] }> {
  if (target.role === 'placement') {
    return [
      { what: 'deploy', args: ['PD.PLUGIN.DEPLOY', 'sec-evil.ts', EVIL_PLUGIN] },
      { what: 'undeploy', args: ['PD.PLUGIN.UNDEPLOY', 'aggregate', '1.1.0'] },
      { what: 'region move', args: ['PD.MOVE', String(region.id), String(otherNode)] },
      { what: 'region split', args: ['PD.SPLIT', String(region.id), 'row:000000100'] },
      { what: 'register a node', args: ['PD.REGISTER', '99', '127.0.0.1', '1'] },
      { what: 'shutdown', args: ['SHUTDOWN'] },
    ];
  }
  return [
    { what: 'install a plugin', args: ['COPR.INSTALL', 'sec-evil.ts', EVIL_PLUGIN] },
    { what: 'uninstall a plugin', args: ['COPR.UNINSTALL', 'aggregate', '1.1.0'] },
    { what: 'set the map', args: ['CLUSTER.SETMAP', '{"version":999999,"regions":[],"nodes":[]}'] },
    { what: 'export a region', args: ['CLUSTER.EXPORT', String(region.id), String(region.epoch), '127.0.0.1:1'] },
    { what: 'ingest rows', args: ['CLUSTER.INGEST', String(region.id), 'row:000000001', 'forged'] },
    { what: 'shutdown', args: ['SHUTDOWN'] },
  ];
}

const isErr = (v: unknown, code: string): boolean => v instanceof RespError && v.code === code;

/** Requests over the protocol's limits: each must get a protocol error and a closed connection. */
const OVERSIZED: Array<{ what: string; bytes: Buffer; message: RegExp; nodesOnly?: boolean }> = [
  { what: 'bulk over 64 MiB', bytes: Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$67108865\r\n'), message: /^ERR Protocol error: bulk length 67108865 over the limit/ },
  { what: 'array over 1 Mi elements', bytes: Buffer.from('*1048577\r\n'), message: /^ERR Protocol error: array of 1048577 over the limit/ },
  { what: 'line over 64 KiB', bytes: Buffer.alloc(65 * 1024 + 1, 0x61), message: /^ERR Protocol error: line too long/ },
  { what: `request over ${REQUEST_CAP_MB} MiB in all (nodes' --max-request-mb)`, bytes: OVER_CAP, message: new RegExp(`^ERR Protocol error: request of more than ${REQUEST_CAP_MB * MIB} bytes`), nodesOnly: true },
];

/** Where the bound addresses were found, per process. */
interface Binding {
  loopbackOnly: number;
  processes: number;
  text: string;
}

export const securityScenario: Scenario<SecurityParams> = {
  name: 'security',
  title: 'admin token, loopback binding, size limits',
  sizes: {
    small: { nodes: 2, rows: 2000 },
    full: { nodes: 3, rows: 5000 },
  },
  async run(p, ctx) {
    // A small total-request cap on the nodes, so a request over it costs a few MiB to send, not 512.
    const nodeArgs = ['--max-request-mb', String(REQUEST_CAP_MB)];
    return withCluster({ nodes: p.nodes, autoSplit: false, autoBalance: false, nodeArgs }, async ({ cluster, connect }) => {
      const client = await connect();
      await loadRows(client, syntheticRows({ rows: p.rows, seed: ctx.seed }));
      const targets = targetsOf(cluster);

      // 1. Admin commands without AUTH, and after a failed AUTH, change nothing.
      const before = await clusterState(cluster, client, targets);
      const map = await cluster.fetchMap();
      const region = map.regions[0]!;
      const otherNode = map.nodes.find((n) => n.id !== region.nodeId)!.id;
      const refused = await tryAdminCommandsWithoutToken(cluster, targets, region, otherNode);
      const after = await clusterState(cluster, client, targets);
      const changed = before === after && allRunning(cluster) ? 0 : 1;
      ctx.log(`security: ${refused.passed}/${refused.n} admin commands refused`);

      // 2. The right token is accepted (so the refusals above were about the token).
      const accepted = await splitWithToken(cluster, region, map.regions.length, ctx);
      // 3. Bound addresses; 4. oversized requests; 5. oversized plugin sources; 6. still serving.
      const binding = loopbackBinding(cluster);
      const sizes = await sendOversizedRequests(targets);
      const sources = await sendOversizedSources(cluster);
      const serving = await countServing(targets, client, p.rows);

      const cmds = adminCommands(targets[0]!, region, otherNode).map((c) => c.what).concat(adminCommands(targets[1]!, region, otherNode).map((c) => c.what));
      return [
        refused.figure('admin commands refused without / with a wrong token', `NOAUTH for: ${[...new Set(cmds)].join(', ')}; on placement and ${p.nodes} nodes`),
        equalFigure('effects of refused commands', changed, 0, refused.n, 'region map, deployed and installed plugins, a row, and all processes compared before/after'),
        allOfFigure('right token accepted', accepted, 1, 'PD.SPLIT with the token splits the region'),
        allOfFigure('processes listening on loopback only', binding.loopbackOnly, binding.processes, binding.text),
        sizes.figure('oversized requests refused', `${OVERSIZED.map((o) => o.what).join(', ')}: -ERR Protocol error, connection closed, PING answered after`),
        sources.figure('oversized plugin sources refused', `source over ${MAX_PLUGIN_SOURCE_BYTES} bytes: COPR_LOAD TOO_LARGE at placement deploy and node install`),
        allOfFigure('serving after all of the above', serving, targets.length + 2, `PING on every process, a 3 MiB value under the ${REQUEST_CAP_MB} MiB cap written and read back, a correct aggregate over every row`),
      ];
    });
  },
};

/** The placement service, then every node. */
function targetsOf(cluster: LocalCluster): Target[] {
  return [
    { role: 'placement', host: cluster.placement.host, port: cluster.placement.port },
    ...[...cluster.nodes.values()].map((n) => ({ role: 'node' as const, host: n.host, port: n.port })),
  ];
}

function allRunning(cluster: LocalCluster): boolean {
  return [cluster.placement, ...cluster.nodes.values()].every(isRunning);
}

/** What a refused admin command could have changed, as text to compare: the map, the plugins on placement and on each node, a row. */
async function clusterState(cluster: LocalCluster, client: ClusterClient, targets: Target[]): Promise<string> {
  const map = await cluster.fetchMap();
  const placementPlugins = String(await client.placementCall(['PD.PLUGIN.LIST']));
  const nodePlugins = await Promise.all(targets.filter((t) => t.role === 'node').map((t) => withConnection({ host: t.host, port: t.port, requestTimeoutMs: 5000 }, async (conn) => JSON.stringify(await conn.call(['COPR.LIST']), buffersAsText))));
  const regions = map.regions.map((r) => `${r.id}@${r.epoch}:${r.nodeId}:${r.state}`).join(',');
  const nodes = map.nodes.map((n) => `${n.id}:${n.host}:${n.port}`).join(',');
  return JSON.stringify({ regions, nodes, placementPlugins, nodePlugins, rows: (await client.get('row:000000001'))?.toString('hex') });
}

/** A JSON.stringify replacer that writes a Buffer as its text, not as a list of bytes. */
function buffersAsText(_key: string, v: unknown): unknown {
  return v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString() : v;
}

/** Every admin command on every process, on a connection with no token and on one after a wrong AUTH: each must get NOAUTH. */
async function tryAdminCommandsWithoutToken(cluster: LocalCluster, targets: Target[], region: { id: number; epoch: number }, otherNode: number): Promise<Checks> {
  const refused = new Checks(3);
  for (const target of targets) {
    for (const variant of ['no token', 'wrong token'] as const) {
      await withConnection({ host: target.host, port: target.port, requestTimeoutMs: 10_000 }, async (conn) => {
        if (variant === 'wrong token') {
          const auth = await conn.send(['AUTH', `${cluster.adminToken.slice(0, -1)}x`]);
          if (!isErr(auth, 'WRONGPASS')) refused.failures.add(`${target.role} AUTH with a wrong token answered ${JSON.stringify(auth)}`);
        }
        for (const cmd of adminCommands(target, region, otherNode)) {
          const reply = await conn.send(cmd.args);
          if (isErr(reply, 'NOAUTH')) refused.pass();
          else refused.fail(`${target.role} ${cmd.what} (${variant}): ${reply instanceof RespError ? reply.message : JSON.stringify(reply)}`);
        }
      });
    }
  }
  return refused;
}

/** 1 when PD.SPLIT with the admin token splits `region` (the map then has one region more), else 0. */
async function splitWithToken(cluster: LocalCluster, region: { id: number }, regionsBefore: number, ctx: ScenarioContext): Promise<number> {
  try {
    await cluster.placementAdmin().call(['PD.SPLIT', String(region.id), 'row:000000100']);
    const split = await cluster.fetchMap();
    return split.regions.length === regionsBefore + 1 ? 1 : 0;
  } catch (err) {
    ctx.log(`security: admin split with the token failed: ${(err as Error).message}`);
    return 0;
  }
}

/** The addresses every process is bound to, from the kernel's socket table. */
function loopbackBinding(cluster: LocalCluster): Binding {
  const procs = [cluster.placement, ...cluster.nodes.values()];
  const bound = procs.map((h) => ({ label: h.role === 'node' ? `node-${h.id}` : 'placement', addrs: listenAddresses(h.pid) }));
  return {
    loopbackOnly: bound.filter((b) => b.addrs.length > 0 && b.addrs.every((a) => isLoopback(a.host))).length,
    processes: procs.length,
    text: bound.map((b) => `${b.label} ${b.addrs.map((a) => `${a.host}:${a.port}`).join(' ') || '(none)'}`).join(', '),
  };
}

/** Oversized requests: refused with a protocol error, connection closed, process serving. */
async function sendOversizedRequests(targets: Target[]): Promise<Checks> {
  const refused = new Checks();
  for (const target of targets) {
    for (const o of OVERSIZED) {
      if (o.nodesOnly && target.role !== 'node') continue;
      const r = await rawExchange(target.host, target.port, o.bytes);
      const reply = r.replies[0];
      const ok = reply instanceof RespError && o.message.test(reply.message) && r.closed && (await pingOk(target.host, target.port));
      if (ok) refused.pass();
      else refused.fail(`${target.role} ${o.what}: ${reply instanceof RespError ? reply.message : JSON.stringify(reply)} closed=${r.closed}`);
    }
  }
  return refused;
}

/** An oversized plugin source, with the token: through placement (deploy) and straight to a node (install). */
async function sendOversizedSources(cluster: LocalCluster): Promise<Checks> {
  const bigSource = `${EVIL_PLUGIN}// ${'x'.repeat(MAX_PLUGIN_SOURCE_BYTES)}\n`;
  const refused = new Checks();
  const expectTooLarge = async (what: string, call: () => Promise<unknown>): Promise<void> => {
    try {
      const v = await call();
      refused.fail(`${what}: accepted (${String(v)})`);
    } catch (err) {
      if (err instanceof ClientError && err.serverCode === 'COPR_LOAD' && /TOO_LARGE/.test(err.message)) refused.pass();
      else refused.fail(`${what}: ${(err as Error).message}`);
    }
  };
  await expectTooLarge('PD.PLUGIN.DEPLOY', () => cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', 'sec-big.ts', bigSource]));
  const node1 = cluster.nodes.get(1)!;
  await withConnection({ host: node1.host, port: node1.port, adminToken: cluster.adminToken, requestTimeoutMs: 10_000 }, (nodeAdmin) =>
    expectTooLarge('COPR.INSTALL', () => nodeAdmin.call(['COPR.INSTALL', 'sec-big.ts', bigSource])),
  );
  return refused;
}

/** Everything still serves: PING on every process, a value under the request cap, a correct aggregate over every row. */
async function countServing(targets: Target[], client: ClusterClient, rows: number): Promise<number> {
  let serving = 0;
  for (const t of targets) if (await pingOk(t.host, t.port)) serving++;
  // A request under the cap (one 3 MiB value) is still fine.
  const under = Buffer.alloc(3 * MIB, 0x63);
  try {
    await client.set('sec:under-cap', under);
    if ((await client.get('sec:under-cap'))?.equals(under)) serving++;
  } catch {
    /* serving stays short and the figure fails */
  }
  try {
    const out = await aggregateAmount(new Coprocessor(client));
    if (out.result[0]?.count === rows) serving++;
  } catch {
    /* serving stays short and the figure fails */
  }
  return serving;
}
