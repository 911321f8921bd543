/**
 * Field schemas for workload specs, on zod: each builds a zod schema whose errors say what was
 * expected in the words the harness has always used ("must be between 1 and 64, got 0"), and
 * `parseSpecValue` turns the first error into a SpecError that names the field by its dotted path
 * (`cluster.nodes: …`). spec.ts assembles the whole spec from them and from what the registries
 * add (families' sections, network kinds, backend kinds' options); the same schema gives the
 * TypeScript types (z.infer), workloads/spec.schema.json for editors and the field reference in
 * docs/workloads.md (spec-docs.ts). `.describe(...)` text becomes those docs.
 */
import { z } from 'zod';

/** A spec field's schema: what a family section, a backend option or a common field is built from. */
export type Check = z.ZodType;
/** Fields of a spec object by name (a family's sections, a backend kind's options). */
export type Shape = Record<string, z.ZodType>;

/** `T`, when it fits `U` (a compile-time check that a schema's type and a hand-written one agree). */
export type Assignable<T extends U, U> = T;

export class SpecError extends Error {}

/** A failed check outside the schema (family checks that need the whole spec): `field: why`. */
export const fail = (field: string, why: string): never => {
  throw new SpecError(`${field}: ${why}`);
};

const shown = (v: unknown): string => (v === undefined ? 'undefined' : JSON.stringify(v));
/** The "missing" of a left-out required field, else what the field expected. */
const typeError = (expected: string) => (iss: { input?: unknown }) => (iss.input === undefined ? 'missing' : `${expected}, got ${shown(iss.input)}`);

/** Numbers past this are "any size": the docs show no upper bound for them. */
export const NO_MAX = Number.MAX_SAFE_INTEGER;

export const int = (min: number, max = NO_MAX) => {
  const range = (iss: { input?: unknown }) => `must be between ${min} and ${max}, got ${String(iss.input)}`;
  return z
    .number({ error: typeError('expected an integer') })
    .int({ error: (iss) => `expected an integer, got ${shown(iss.input)}` })
    .min(min, { error: range })
    .max(max, { error: range });
};
export const num = (min: number, max: number) => {
  const range = (iss: { input?: unknown }) => `must be between ${min} and ${max}, got ${String(iss.input)}`;
  return z.number({ error: typeError('expected a number') }).min(min, { error: range }).max(max, { error: range });
};
export const str = z.string({ error: typeError('expected a non-empty string') }).min(1, { error: (iss) => `expected a non-empty string, got ${shown(iss.input)}` });
/** One of fixed names; the list is the registry's or the code's, so errors and the schema list the same names. */
export const oneOf = <const T extends readonly [string, ...string[]]>(...allowed: T) => z.enum(allowed, { error: (iss) => (iss.input === undefined ? 'missing' : `must be one of ${allowed.join(', ')}, got ${shown(iss.input)}`) });
export const list = <T extends z.ZodType>(item: T, minItems = 1) =>
  z.array(item, { error: typeError('expected a list') }).min(minItems, { error: `needs at least ${minItems} item(s)` });
export const scalar = z.union([z.number(), z.string()], { error: typeError('expected a number or string') });
/** Any JSON object (its fields are the family's or the plugin's to check). */
export const anyObject = z.record(z.string(), z.unknown(), { error: typeError('expected an object') });
/** A field that must be given, and may be null. */
export const nullable = <T extends z.ZodType>(inner: T) => inner.nullable();
/** A field that may be left out of the JSON; it then validates as null. */
export const optionalNullable = <T extends z.ZodType>(inner: T) => inner.nullable().default(null);
/** A field that may be left out of the JSON; it then takes `value` (a copy: a run that changes its spec must not change the default). */
export const withDefault = <T extends z.ZodType>(inner: T, value: z.output<T>) => inner.default((() => structuredClone(value)) as never);

/**
 * An object with exactly these fields: an unknown field is an error listing the known ones (a typo
 * must not be ignored silently).
 */
export const object = <S extends Shape>(shape: S) =>
  z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown field (known: ${Object.keys(shape).join(', ')})` : iss.input === undefined ? 'missing' : `expected an object, got ${shown(iss.input)}`),
  });

/**
 * An object section that may be left out: it is then parsed as `{}`, so each field takes its own
 * default, and a section given in part (only `cluster.nodes`) takes the rest from them.
 */
export const section = <T extends z.ZodType>(inner: T) => inner.prefault({} as never);

/** A check the types cannot say (a sum, a relation between fields): `why` is null when it holds. */
export const refine = <T extends z.ZodType>(inner: T, why: (value: z.output<T>) => string | null, path: string[] = []) =>
  inner.superRefine((value, ctx) => {
    const message = why(value);
    // A fresh path each time: zod prefixes the issue's path in place as it bubbles up.
    if (message !== null) ctx.addIssue({ code: 'custom', message, path: [...path], input: value });
  });

/**
 * Objects told apart by their `kind` (datasets, backends): each variant is a strict object with a
 * literal kind. An unknown or missing kind names `<field>.kind` and the kinds there are.
 */
export const byKind = <V extends readonly [z.core.$ZodTypeDiscriminable, ...z.core.$ZodTypeDiscriminable[]]>(variants: V) => {
  const kinds = variants.flatMap((v) => [...(v._zod.propValues.kind ?? [])].map(String));
  return z.discriminatedUnion('kind', variants, {
    error: (iss) => {
      if (iss.input === undefined) return 'missing';
      if (!iss.input || typeof iss.input !== 'object' || Array.isArray(iss.input)) return `expected an object, got ${shown(iss.input)}`;
      if (iss.code !== 'invalid_union') return undefined;
      return `must be one of ${kinds.join(', ')}, got ${shown((iss.input as { kind?: unknown }).kind)}`;
    },
  });
};

/** The kind literal of a byKind variant. */
export const kind = <K extends string>(name: K) => z.literal(name);

/** `a.b[2].c` for an issue path. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

/**
 * Parses with `schema`, or throws a SpecError naming the field of the first problem. An unknown
 * field goes first: it is most often a typo, and the other errors (a field then "missing") follow
 * from it.
 */
export function parseSpecValue<T extends z.ZodType>(schema: T, value: unknown, at: string[] = []): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  const path = [...at, ...issue.path];
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
  const field = fieldPath(path);
  throw new SpecError(field ? `${field}: ${issue.message}` : issue.message);
}
