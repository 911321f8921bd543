/**
 * The backend kinds, registered by name. A spec's `backend.kind` selects one; nothing outside a
 * backend's folder and this file tests a kind's name. Adding a backend: a folder under
 * workloads/backends/ exporting a BackendKind (backend.ts), and one line in KINDS.
 */
import { SpecError } from '../spec-checks';
import type { BackendKind } from './backend';
import { copbenchKind } from './copbench';
import { redisClusterKind } from './redis-cluster';

const KINDS: readonly BackendKind[] = [copbenchKind, redisClusterKind];

/** The kind a spec gets when it names none. */
export const DEFAULT_BACKEND_KIND = copbenchKind.name;

export function backendKindNames(): string[] {
  return KINDS.map((k) => k.name);
}

export function backendKinds(): readonly BackendKind[] {
  return KINDS;
}

/** The kind named `name`; a SpecError naming the field otherwise. */
export function backendKind(name: string): BackendKind {
  const kind = KINDS.find((k) => k.name === name);
  if (!kind) throw new SpecError(`backend.kind: must be one of ${backendKindNames().join(', ')}, got ${JSON.stringify(name)}`);
  return kind;
}
