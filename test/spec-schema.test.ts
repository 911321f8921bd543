/**
 * One schema (workloads/spec.ts, zod) validates specs, and is written out as
 * workloads/spec.schema.json and the field reference in docs/workloads.md: the checked-in copies
 * must be what `npm run spec-schema` generates now, every shipped spec names the schema by
 * `$schema`, and the families' registered sections are the ones WorkloadSpec is typed with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles, SCHEMA_FILE, SCHEMA_REF, specJsonSchema, specReference } from '../workloads/spec-docs';
import { loadSpec, readRawSpec, SPECS_DIR, specNames, SpecError, validateSpec } from '../workloads/spec';
import { specSections, type FamilySections } from '../workloads/families/registry';
import { backendKindNames } from '../workloads/backends/registry';

const ROOT = path.join(__dirname, '..');

test('workloads/spec.schema.json and the reference in docs/workloads.md are what npm run spec-schema writes', () => {
  for (const { file, text } of generatedFiles()) {
    assert.ok(readFileSync(file, 'utf8') === text, `${path.relative(ROOT, file)} is stale: run npm run spec-schema and commit the result`);
  }
});

test('every shipped spec names the schema by $schema (as editors resolve it), and validates', () => {
  for (const name of specNames()) {
    const raw = readRawSpec(name);
    assert.equal(raw.$schema, SCHEMA_REF, name);
    assert.equal(path.resolve(SPECS_DIR, String(raw.$schema)), SCHEMA_FILE, name);
    assert.ok(existsSync(SCHEMA_FILE));
    const spec = loadSpec(name);
    assert.equal('$schema' in spec, false, `${name}: $schema is the editor's, not the run's`);
  }
});

test('the JSON Schema carries what validation does: strict objects, ranges, defaults, the registered kinds', () => {
  const schema = specJsonSchema() as { additionalProperties: boolean; required: string[]; properties: Record<string, Record<string, unknown>> };
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required.sort(), ['dataset', 'description', 'kind', 'links', 'modes', 'name', 'repetitions', 'sweep', 'warmup']);
  const cluster = schema.properties.cluster as { properties: Record<string, { minimum?: number; maximum?: number; default?: unknown }>; additionalProperties: boolean };
  assert.equal(cluster.additionalProperties, false);
  assert.deepEqual([cluster.properties.nodes!.minimum, cluster.properties.nodes!.maximum, cluster.properties.nodes!.default], [1, 64, 3]);
  const backends = (schema.properties.backend as { oneOf: Array<{ properties: { kind: { const: string } } }> }).oneOf.map((v) => v.properties.kind.const);
  assert.deepEqual(backends, backendKindNames());
  for (const field of Object.keys(specSections())) assert.ok(field in schema.properties, `family section ${field} is in the schema`);
  // The reference names every top-level field.
  const reference = specReference();
  for (const field of Object.keys(schema.properties)) assert.match(reference, new RegExp(`\\| \`${field.replace('$', '\\$')}\` \\|`));
});

test('the families register exactly the sections WorkloadSpec is typed with (registry.ts FamilySections)', () => {
  // A Record over keyof FamilySections must name every key and no other: the compiler checks this list.
  const typed: Record<keyof FamilySections, true> = { plugin: true, version: true, precision: true, maxRepetitions: true, maxSeconds: true, ycsb: true, ml: true, interference: true };
  assert.deepEqual(Object.keys(specSections()).sort(), Object.keys(typed).sort());
});

test('errors name the dotted field; unknown fields are errors; $schema may be given or left out', () => {
  const raw = readRawSpec('filter');
  const bad = (overrides: Record<string, unknown>, message: RegExp): void =>
    assert.throws(() => validateSpec({ ...raw, ...overrides }), (e: unknown) => e instanceof SpecError && message.test(e.message), JSON.stringify(overrides));
  bad({ cluster: { nodes: 0 } }, /^cluster\.nodes: must be between 1 and 64, got 0$/);
  bad({ dataset: { kind: 'synthetic', rowz: 5 } }, /^dataset\.rowz: unknown field \(known: kind, rows, valueBytes, seed, categories\)$/);
  bad({ dataset: { kind: 'csv', rows: 5 } }, /^dataset\.kind: must be one of synthetic, regression, flights, got "csv"$/);
  bad({ links: ['unlimited', 5] }, /^links\[1\]: expected a non-empty string, got 5$/);
  bad({ backend: { kind: 'redis-cluster', buckets: 0 } }, /^backend\.buckets: must be between 1 and 16384, got 0$/);
  bad({ backend: { kind: 'copbench', nodes: 3 } }, /^backend\.nodes: unknown field \(known: kind\)$/);
  bad({ warmup: undefined }, /^warmup: missing$/);
  bad({ modes: ['client', 'client'] }, /^modes: lists a mode twice$/);
  bad({ colour: 'red' }, /^colour: unknown field \(known: \$schema, name, /);
  const { $schema: _, ...without } = raw;
  assert.equal(validateSpec(without).name, 'filter');
  // Defaults: a partial cluster takes the rest, left-out optional fields are null.
  const spec = validateSpec({ ...without, cluster: { nodes: 5 } });
  assert.deepEqual(spec.cluster, { nodes: 5, splitKeys: 50_000, splitBytes: 64 * 1024 * 1024, coprWorkers: 2, coprMaxQueue: null, coprNice: null, coprCallMemoryMb: null, coprMemoryMb: null, coprStateMb: null });
  assert.deepEqual(spec.backend, { kind: 'copbench' });
  assert.deepEqual(validateSpec({ ...without, backend: { kind: 'redis-cluster' } }).backend, { kind: 'redis-cluster', nodes: null, buckets: null, sliceRows: null });
});
