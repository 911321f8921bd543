/**
 * The network kinds, registered by name. A spec's `network.kind` selects one; nothing outside this
 * file tests a kind's name. Adding a kind: a NetworkKind (network.ts) and one line in KINDS.
 */
import { SpecError } from '../spec-checks';
import { loopbackKind } from './loopback';
import type { NetworkKind } from './network';
import { netnsKind } from './netns';

const KINDS: readonly NetworkKind[] = [loopbackKind, netnsKind];

/** The kind a spec gets when it names none: today's behaviour. */
export const DEFAULT_NETWORK_KIND = loopbackKind.name;

export function networkKindNames(): string[] {
  return KINDS.map((k) => k.name);
}

export function networkKinds(): readonly NetworkKind[] {
  return KINDS;
}

/** The kind named `name`; a SpecError naming the field otherwise. */
export function networkKind(name: string): NetworkKind {
  const kind = KINDS.find((k) => k.name === name);
  if (!kind) throw new SpecError(`network.kind: must be one of ${networkKindNames().join(', ')}, got ${JSON.stringify(name)}`);
  return kind;
}
