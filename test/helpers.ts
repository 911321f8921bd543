/** Helpers shared by integration tests: an admin connection to placement and key formatting. */
import { RespConnection } from '../engine/client/connection';
import type { LocalCluster } from '../engine/cluster/local-cluster';

/** An authenticated connection to the placement service (for PD.SPLIT / PD.MOVE). */
export function placementAdmin(cluster: LocalCluster): RespConnection {
  return new RespConnection({ host: cluster.placement.host, port: cluster.placement.port, adminToken: cluster.adminToken, requestTimeoutMs: 30_000 });
}

/** Fixed-width keys so lexicographic order equals numeric order. */
export function keyOf(i: number, prefix = 'key'): string {
  return `${prefix}${String(i).padStart(8, '0')}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value or the timeout passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000, describe?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const v = await check().catch((err: unknown) => {
      lastError = String(err);
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const state = describe ? await describe().catch((e: unknown) => String(e)) : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}${state ? `; state: ${state}` : ''}`);
    }
    await sleep(100);
  }
}
