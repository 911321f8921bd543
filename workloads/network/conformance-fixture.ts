/**
 * What the network conformance test asks of every kind, from the client side of the network:
 * `exerciseNetwork()` opens the network, reaches a peer on a node's host through an unshaped and a
 * shaped link, verifies a profile, and reports what it saw. Run in-process for a kind whose client
 * runs 'here', or as `node conformance-fixture.ts <kind> <out.json>` inside the kind's client host.
 */
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import type { LinkCheck, NetworkReport } from './network';
import { networkKind } from './registry';
import { startPeer } from './verify';

export interface ConformanceResult {
  hosts: { placement: string; node1: string };
  /** Round trip of one byte through each link to the peer (ms): shows the link carries traffic. */
  echoMs: Record<string, number>;
  checks: LinkCheck[];
  report: NetworkReport;
}

/** One byte to the peer's ping-pong mode and back, through `wrap` when given. */
async function echo(host: string, port: number, wrap?: (s: net.Socket) => { on(e: 'data', l: (c: Buffer) => void): unknown; write(b: Buffer): unknown; destroy(): unknown }): Promise<number> {
  const raw = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
  const socket = wrap ? wrap(raw) : raw;
  const started = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    socket.on('data', () => resolve());
    socket.write(Buffer.from('Px'));
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  socket.destroy();
  raw.destroy();
  return ms;
}

export async function exerciseNetwork(kindName: string, profiles: string[]): Promise<ConformanceResult> {
  const network = networkKind(kindName).open();
  try {
    const node1 = network.processHost('node', 1);
    const peer = await startPeer(node1);
    const echoMs: Record<string, number> = {};
    try {
      for (const profile of ['unlimited', ...profiles]) {
        const link = network.link(profile);
        await link.use();
        echoMs[link.name] = await echo(peer.host, peer.port, link.wrapSocket);
        link.close();
      }
    } finally {
      peer.close();
    }
    const checks = await network.verify(profiles, () => undefined);
    return { hosts: { placement: network.processHost('placement', 0).host, node1: node1.host }, echoMs, checks, report: network.report() };
  } finally {
    await network.close();
  }
}

if (require.main === module) {
  const [kind = '', out = '', ...profiles] = process.argv.slice(2);
  exerciseNetwork(kind, profiles).then(
    (result) => writeFileSync(out, JSON.stringify(result)),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
