/**
 * Security: admin commands (deploy, undeploy, region split and move, register, install, map and
 * data transfer, shutdown) are refused without the admin token and with a wrong one, and change
 * nothing; the right token is accepted; every process listens on loopback only (checked in the
 * kernel's socket table); oversized requests and oversized plugin sources are refused with a clear
 * error and the processes keep serving.
 */
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { RespConnection } from '../engine/client/connection';
import { ClientError } from '../engine/client/errors';
import { RespError } from '../engine/protocol/resp';
import { MAX_PLUGIN_SOURCE_BYTES } from '../engine/coprocessor/loader';
import { SAMPLE_SCHEMA } from '../engine/plugin-api';
import { loadRows, syntheticRows } from '../workloads/datasets/synthetic';
import type { GroupResult } from '../plugins/aggregate';
import { isLoopback, listenAddresses } from './listen-addresses';
import { pingOk, rawExchange } from './raw-resp';
import { allOfFigure, equalFigure, type Scenario } from './types';

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

export const securityScenario: Scenario<SecurityParams> = {
  name: 'security',
  title: 'admin token, loopback binding, size limits',
  sizes: {
    small: { nodes: 2, rows: 2000 },
    full: { nodes: 3, rows: 5000 },
  },
  async run(p, ctx) {
    // A small total-request cap on the nodes, so a request over it costs a few MiB to send, not 512.
    const cluster = await LocalCluster.start({ nodes: p.nodes, autoSplit: false, autoBalance: false, nodeArgs: ['--max-request-mb', String(REQUEST_CAP_MB)] });
    const client = await ClusterClient.connect({ placement: cluster.placementAddress });
    try {
      await loadRows(client, syntheticRows({ rows: p.rows, seed: ctx.seed }));
      const targets: Target[] = [
        { role: 'placement', host: cluster.placement.host, port: cluster.placement.port },
        ...[...cluster.nodes.values()].map((n) => ({ role: 'node' as const, host: n.host, port: n.port })),
      ];
      const snapshot = async (): Promise<string> => {
        const map = await cluster.fetchMap();
        const placementPlugins = String(await client.placementCall(['PD.PLUGIN.LIST']));
        const nodePlugins = await Promise.all(targets.filter((t) => t.role === 'node').map(async (t) => {
          const conn = new RespConnection({ host: t.host, port: t.port, requestTimeoutMs: 5000 });
          try {
            return JSON.stringify(await conn.call(['COPR.LIST']), (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString() : v));
          } finally {
            conn.close();
          }
        }));
        const regions = map.regions.map((r) => `${r.id}@${r.epoch}:${r.nodeId}:${r.state}`).join(',');
        const nodes = map.nodes.map((n) => `${n.id}:${n.host}:${n.port}`).join(',');
        return JSON.stringify({ regions, nodes, placementPlugins, nodePlugins, rows: (await client.get('row:000000001'))?.toString('hex') });
      };

      // 1. Admin commands without AUTH, and after a failed AUTH.
      const before = await snapshot();
      const map = await cluster.fetchMap();
      const region = map.regions[0]!;
      const otherNode = map.nodes.find((n) => n.id !== region.nodeId)!.id;
      let attempts = 0;
      let refused = 0;
      const notRefused: string[] = [];
      for (const target of targets) {
        for (const variant of ['no token', 'wrong token'] as const) {
          const conn = new RespConnection({ host: target.host, port: target.port, requestTimeoutMs: 10_000 });
          try {
            if (variant === 'wrong token') {
              const auth = await conn.send(['AUTH', `${cluster.adminToken.slice(0, -1)}x`]);
              if (!isErr(auth, 'WRONGPASS')) notRefused.push(`${target.role} AUTH with a wrong token answered ${JSON.stringify(auth)}`);
            }
            for (const cmd of adminCommands(target, region, otherNode)) {
              attempts++;
              const reply = await conn.send(cmd.args);
              if (isErr(reply, 'NOAUTH')) refused++;
              else notRefused.push(`${target.role} ${cmd.what} (${variant}): ${reply instanceof RespError ? reply.message : JSON.stringify(reply)}`);
            }
          } finally {
            conn.close();
          }
        }
      }
      const allAlive = (): boolean => [cluster.placement, ...cluster.nodes.values()].every((h) => h.child.exitCode === null && h.child.signalCode === null);
      const after = await snapshot();
      const changed = before === after && allAlive() ? 0 : 1;
      ctx.log(`security: ${refused}/${attempts} admin commands refused`);

      // 2. The right token is accepted (so the refusals above were about the token).
      let accepted = 0;
      try {
        await cluster.placementAdmin().call(['PD.SPLIT', String(region.id), 'row:000000100']);
        const split = await cluster.fetchMap();
        if (split.regions.length === map.regions.length + 1) accepted = 1;
      } catch (err) {
        ctx.log(`security: admin split with the token failed: ${(err as Error).message}`);
      }

      // 3. Bound addresses, from the kernel's socket table.
      const procs = [cluster.placement, ...cluster.nodes.values()];
      const bound = procs.map((h) => ({ label: h.role === 'node' ? `node-${h.id}` : 'placement', addrs: listenAddresses(h.pid) }));
      const loopbackOnly = bound.filter((b) => b.addrs.length > 0 && b.addrs.every((a) => isLoopback(a.host))).length;
      const boundText = bound.map((b) => `${b.label} ${b.addrs.map((a) => `${a.host}:${a.port}`).join(' ') || '(none)'}`).join(', ');

      // 4. Oversized requests: refused with a protocol error, connection closed, process serving.
      const oversized: Array<{ what: string; bytes: Buffer; message: RegExp; nodesOnly?: boolean }> = [
        { what: 'bulk over 64 MiB', bytes: Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$67108865\r\n'), message: /^ERR Protocol error: bulk length 67108865 over the limit/ },
        { what: 'array over 1 Mi elements', bytes: Buffer.from('*1048577\r\n'), message: /^ERR Protocol error: array of 1048577 over the limit/ },
        { what: 'line over 64 KiB', bytes: Buffer.alloc(65 * 1024 + 1, 0x61), message: /^ERR Protocol error: line too long/ },
        { what: `request over ${REQUEST_CAP_MB} MiB in all (nodes' --max-request-mb)`, bytes: OVER_CAP, message: new RegExp(`^ERR Protocol error: request of more than ${REQUEST_CAP_MB * MIB} bytes`), nodesOnly: true },
      ];
      let sizeRefused = 0;
      const sizeProblems: string[] = [];
      let sizeAttempts = 0;
      for (const target of targets) {
        for (const o of oversized) {
          if (o.nodesOnly && target.role !== 'node') continue;
          sizeAttempts++;
          const r = await rawExchange(target.host, target.port, o.bytes);
          const reply = r.replies[0];
          const ok = reply instanceof RespError && o.message.test(reply.message) && r.closed && (await pingOk(target.host, target.port));
          if (ok) sizeRefused++;
          else sizeProblems.push(`${target.role} ${o.what}: ${reply instanceof RespError ? reply.message : JSON.stringify(reply)} closed=${r.closed}`);
        }
      }

      // 5. Oversized plugin source: through placement (deploy) and straight to a node (install), with the token.
      const bigSource = `${EVIL_PLUGIN}// ${'x'.repeat(MAX_PLUGIN_SOURCE_BYTES)}\n`;
      let sourceRefused = 0;
      const sourceProblems: string[] = [];
      const expectTooLarge = async (what: string, call: () => Promise<unknown>): Promise<void> => {
        try {
          const v = await call();
          sourceProblems.push(`${what}: accepted (${String(v)})`);
        } catch (err) {
          if (err instanceof ClientError && err.serverCode === 'COPR_LOAD' && /TOO_LARGE/.test(err.message)) sourceRefused++;
          else sourceProblems.push(`${what}: ${(err as Error).message}`);
        }
      };
      await expectTooLarge('PD.PLUGIN.DEPLOY', () => cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', 'sec-big.ts', bigSource]));
      const node1 = cluster.nodes.get(1)!;
      const nodeAdmin = new RespConnection({ host: node1.host, port: node1.port, adminToken: cluster.adminToken, requestTimeoutMs: 10_000 });
      try {
        await expectTooLarge('COPR.INSTALL', () => nodeAdmin.call(['COPR.INSTALL', 'sec-big.ts', bigSource]));
      } finally {
        nodeAdmin.close();
      }

      // 6. Everything still serves: PING everywhere and a correct aggregate over every row.
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
        const out = await new Coprocessor(client).run<unknown, GroupResult[]>({ plugin: 'aggregate', request: { schema: SAMPLE_SCHEMA, column: 'amount' }, mode: 'pushdown', start: 'row:', end: 'row;' });
        if (out.result[0]?.count === p.rows) serving++;
      } catch {
        /* serving stays short and the figure fails */
      }
      const cmds = adminCommands(targets[0]!, region, otherNode).map((c) => c.what).concat(adminCommands(targets[1]!, region, otherNode).map((c) => c.what));
      return [
        allOfFigure('admin commands refused without / with a wrong token', refused, attempts, notRefused.length ? notRefused.slice(0, 3).join('; ') : `NOAUTH for: ${[...new Set(cmds)].join(', ')}; on placement and ${p.nodes} nodes`),
        equalFigure('effects of refused commands', changed, 0, attempts, 'region map, deployed and installed plugins, a row, and all processes compared before/after'),
        allOfFigure('right token accepted', accepted, 1, 'PD.SPLIT with the token splits the region'),
        allOfFigure('processes listening on loopback only', loopbackOnly, procs.length, boundText),
        allOfFigure('oversized requests refused', sizeRefused, sizeAttempts, sizeProblems.length ? sizeProblems.join('; ') : `${oversized.map((o) => o.what).join(', ')}: -ERR Protocol error, connection closed, PING answered after`),
        allOfFigure('oversized plugin sources refused', sourceRefused, 2, sourceProblems.length ? sourceProblems.join('; ') : `source over ${MAX_PLUGIN_SOURCE_BYTES} bytes: COPR_LOAD TOO_LARGE at placement deploy and node install`),
        allOfFigure('serving after all of the above', serving, targets.length + 2, `PING on every process, a 3 MiB value under the ${REQUEST_CAP_MB} MiB cap written and read back, a correct aggregate over every row`),
      ];
    } finally {
      client.close();
      await cluster.stop();
    }
  },
};
