/**
 * The workload families, registered by name. A spec's `kind` selects its family; summary.json
 * records the family's name so reports find it again. Adding a family: a folder under
 * workloads/families/ exporting a WorkloadFamily, and one line in FAMILIES.
 */
import { SpecError, type Shape } from '../spec-checks';
import type { WorkloadFamily } from './family';
import { queryFamily, type QUERY_SECTIONS } from './query';
import { ycsbFamily } from './ycsb';
import type { YCSB_SECTIONS } from './ycsb/section';
import { mlTrainFamily } from './ml-train';
import type { ML_SECTIONS } from './ml-train/section';
import { interferenceFamily } from './interference';
import type { INTERFERENCE_SECTIONS } from './interference/section';

const FAMILIES: readonly WorkloadFamily[] = [queryFamily, ycsbFamily, mlTrainFamily, interferenceFamily];

/**
 * The spec fields the families add, as their schemas type them: WorkloadSpec's family fields come
 * from this. The families' `sections` are erased to Shape in FAMILIES, so a family added there
 * adds its sections here too (test/spec-schema.test.ts checks that both name the same fields).
 */
export type FamilySections = typeof QUERY_SECTIONS & typeof YCSB_SECTIONS & typeof ML_SECTIONS & typeof INTERFERENCE_SECTIONS;

/** Every spec kind some family runs. */
export function specKinds(): string[] {
  return FAMILIES.flatMap((f) => [...f.kinds]);
}

/** The spec sections the families own, by field name (schemas, in FAMILIES' order). */
export function specSections(): FamilySections {
  return Object.assign({}, ...FAMILIES.map((f) => f.sections)) as Shape as FamilySections;
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
