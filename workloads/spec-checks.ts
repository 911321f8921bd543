/**
 * Field checks for workload specs: each returns the validated value or throws a SpecError that
 * names the field (dotted path) and says what was expected. spec.ts builds the common shape from
 * them, and workload families build their own spec sections from them.
 */
import { isObject } from '../engine/util/is-object';

export type Check = (value: unknown, field: string) => unknown;

export class SpecError extends Error {}

export const fail = (field: string, why: string): never => {
  throw new SpecError(`${field}: ${why}`);
};

export const int = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v, f) => {
  if (typeof v !== 'number' || !Number.isInteger(v)) return fail(f, `expected an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) return fail(f, `must be between ${min} and ${max}, got ${v}`);
  return v;
};
export const num = (min: number, max: number): Check => (v, f) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return fail(f, `expected a number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) return fail(f, `must be between ${min} and ${max}, got ${v}`);
  return v;
};
export const str: Check = (v, f) => (typeof v === 'string' && v.length > 0 ? v : fail(f, `expected a non-empty string, got ${JSON.stringify(v)}`));
export const oneOf = (...allowed: string[]): Check => (v, f) => (typeof v === 'string' && allowed.includes(v) ? v : fail(f, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`));
export const list = (item: Check, minItems = 1): Check => (v, f) => {
  if (!Array.isArray(v)) return fail(f, `expected a list, got ${JSON.stringify(v)}`);
  if (v.length < minItems) return fail(f, `needs at least ${minItems} item(s)`);
  return v.map((x, i) => item(x, `${f}[${i}]`));
};
export const scalar: Check = (v, f) => (typeof v === 'number' || typeof v === 'string' ? v : fail(f, `expected a number or string, got ${JSON.stringify(v)}`));
export const anyObject: Check = (v, f) => (v && typeof v === 'object' && !Array.isArray(v) ? v : fail(f, 'expected an object'));
export const nullable = (inner: Check): Check => (v, f) => (v === null ? null : inner(v, f));
/** A field that may be left out of the JSON; it then validates as null. */
export const optionalNullable = (inner: Check): Check => Object.assign(nullable(inner), { optional: true });
/** A field that may be left out of the JSON; it then takes `value` (checked like a given one); an object given in part takes the rest from `value`. */
export const withDefault = (inner: Check, value: unknown): Check => Object.assign((v: unknown, f: string) => inner(v, f), { defaultValue: value });

export type Shape = { [field: string]: Check | Shape };

export const object = (shape: Shape): Check => (v, f) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return fail(f, 'expected an object');
  const input = v as Record<string, unknown>;
  for (const key of Object.keys(input)) if (!(key in shape)) fail(f ? `${f}.${key}` : key, `unknown field (known: ${Object.keys(shape).join(', ')})`);
  const out: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(shape)) {
    const field = f ? `${f}.${key}` : key;
    if (!(key in input)) {
      if (typeof check === 'function' && 'defaultValue' in check) {
        out[key] = check(structuredClone((check as { defaultValue: unknown }).defaultValue), field);
        continue;
      }
      if (typeof check === 'function' && (check as { optional?: boolean }).optional) {
        out[key] = null;
        continue;
      }
      fail(field, 'missing');
    }
    const given = input[key];
    const defaults = typeof check === 'function' && 'defaultValue' in check ? (check as { defaultValue: unknown }).defaultValue : undefined;
    // A partly given object with defaults (e.g. only cluster.nodes) takes the rest from them.
    const value = isObject(defaults) && isObject(given) ? { ...structuredClone(defaults), ...given } : given;
    out[key] = typeof check === 'function' ? check(value, field) : object(check)(value, field);
  }
  return out;
};
