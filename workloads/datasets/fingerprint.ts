/**
 * Dataset fingerprints: a hash of everything that determines the bytes of a dataset. A rerun
 * against a cluster whose stored fingerprint matches skips the load.
 */
import { createHash } from 'node:crypto';
import type { ClusterClient } from '../../engine/client/cluster-client';
import type { DatasetSpec } from '../spec';

/** Bump when a generator changes the bytes it produces for the same spec. */
export const GENERATOR_VERSION = 1;

/** Stored outside the dataset's key range (datasets live under `row:`), so queries never see it. */
export const FINGERPRINT_KEY = '~copbench:dataset-fingerprint';

export function datasetFingerprint(dataset: DatasetSpec): string {
  const canonical = JSON.stringify({ generator: GENERATOR_VERSION, ...Object.fromEntries(Object.entries(dataset).sort()) });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 24);
}

export async function storedFingerprint(client: ClusterClient): Promise<string | undefined> {
  return (await client.get(FINGERPRINT_KEY))?.toString();
}

export async function storeFingerprint(client: ClusterClient, fingerprint: string): Promise<void> {
  await client.set(FINGERPRINT_KEY, fingerprint);
}
