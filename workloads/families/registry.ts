/**
 * The workload families, registered by name. A spec's `kind` selects its family; summary.json
 * records the family's name so reports find it again. Adding a family: a folder under
 * workloads/families/ exporting a WorkloadFamily, and one line in FAMILIES.
 */
import { SpecError, type Check } from '../spec-checks';
import type { WorkloadFamily } from './family';
import { queryFamily } from './query';
import { ycsbFamily } from './ycsb';
import { mlTrainFamily } from './ml-train';
import { interferenceFamily } from './interference';

const FAMILIES: readonly WorkloadFamily[] = [queryFamily, ycsbFamily, mlTrainFamily, interferenceFamily];

/** Every spec kind some family runs. */
export function specKinds(): string[] {
  return FAMILIES.flatMap((f) => [...f.kinds]);
}

/** The spec sections the families own, by field name. */
export function specSections(): Record<string, Check> {
  return Object.assign({}, ...FAMILIES.map((f) => f.sections)) as Record<string, Check>;
}

/** The family that runs a spec kind. */
export function familyForKind(kind: string): WorkloadFamily {
  const family = FAMILIES.find((f) => f.kinds.includes(kind));
  if (!family) throw new SpecError(`kind: must be one of ${specKinds().join(', ')}, got ${JSON.stringify(kind)}`);
  return family;
}

/** A family by its name (as summary.json records it); undefined when no family has that name. */
export function familyNamed(name: string): WorkloadFamily | undefined {
  return FAMILIES.find((f) => f.name === name);
}

/** The family whose summary shape this is (runs written before summaries named their family). */
export function familyOfSummary(summary: Record<string, unknown>): WorkloadFamily | undefined {
  return FAMILIES.find((f) => f.report.recognizes(summary));
}

export function knownFamilies(): string[] {
  return FAMILIES.map((f) => f.name);
}
