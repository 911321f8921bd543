/**
 * loadPluginSource: a valid plugin loads with its artifact (name, version, sha256 of the source);
 * every failure is a PluginLoadError with its code and a message naming the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { MAX_PLUGIN_SOURCE_BYTES, PluginLoadError, loadPluginSource, type PluginLoadErrorCode } from './loader';
import { NO_STATE } from '../plugin-api';

/** Plugin source with the given definition fields (TypeScript object-literal text). */
function pluginSource(fields: { name?: string; version?: string; apiVersion?: string; importFrom?: string; extra?: string; prelude?: string } = {}): string {
  return `import { definePlugin, type PluginContext } from '${fields.importFrom ?? '../engine/plugin-api'}';
${fields.prelude ?? ''}
interface Req { n: number }
export default definePlugin({
  name: ${fields.name ?? "'sample'"},
  version: ${fields.version ?? "'1.2.3'"},
  apiVersion: ${fields.apiVersion ?? '1'},
  handle: (req: Req, _ctx: PluginContext): number => req.n * 2,
  merge: (parts: number[]): number => parts.reduce((a, b) => a + b, 0),${fields.extra ?? ''}
});
`;
}

/** Asserts that loading fails with `code` and a message that names `file`. */
function assertLoadError(source: string, file: string, code: PluginLoadErrorCode, message?: RegExp): void {
  assert.throws(
    () => loadPluginSource(source, file),
    (err: unknown) => {
      assert.ok(err instanceof PluginLoadError, `expected a PluginLoadError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      assert.equal(err.file, file);
      assert.ok(err.message.includes(file), `message should name the file: ${err.message}`);
      assert.ok(err.message.includes(code), `message should name the code: ${err.message}`);
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

test('a valid plugin loads with its name, version and the sha256 of its source', () => {
  const source = pluginSource();
  const loaded = loadPluginSource(source, 'plugins/sample.ts');
  assert.equal(loaded.artifact.name, 'sample');
  assert.equal(loaded.artifact.version, '1.2.3');
  assert.equal(loaded.artifact.sha256, createHash('sha256').update(source).digest('hex'));
  assert.equal(loaded.artifact.source, source);
  assert.equal(loaded.artifact.file, 'plugins/sample.ts');
  assert.equal(loaded.plugin.apiVersion, 1);
  assert.equal(typeof loaded.js, 'string');
  assert.ok(!loaded.js.includes('interface Req'), 'js is compiled (types stripped)');
});

test('a loaded plugin runs its handle and merge', async () => {
  const { plugin } = loadPluginSource(pluginSource(), 'plugins/sample.ts');
  const ctx = { ranges: [], storage: { get: async () => undefined, scan: async function* () {}, visit: async () => 0 }, signal: new AbortController().signal, where: 'client' as const, state: NO_STATE };
  assert.equal(await plugin.handle({ n: 21 }, ctx), 42);
  assert.equal(plugin.merge([1, 2, 3], {}), 6);
});

test("a plugin may import the API as '../engine/plugin-api'", () => {
  const loaded = loadPluginSource(
    pluginSource({ importFrom: '../engine/plugin-api', prelude: "import { RecordCodec, SAMPLE_SCHEMA } from '../engine/plugin-api';\nconst codec = new RecordCodec(SAMPLE_SCHEMA);", extra: '\n  description: String(codec.schema.columns.length),' }),
    'plugins/rel.ts',
  );
  assert.equal(loaded.plugin.description, '5');
});

test("a plugin may import the API as 'copbench/plugin-api'", () => {
  const loaded = loadPluginSource(
    pluginSource({ importFrom: 'copbench/plugin-api', prelude: "import { utf8 } from 'copbench/plugin-api';", extra: '\n  description: String(utf8("ab").length),' }),
    'plugins/pkg.ts',
  );
  assert.equal(loaded.artifact.name, 'sample');
  assert.equal(loaded.plugin.description, '2');
});

test('the sha256 changes with any change of the source', () => {
  const a = loadPluginSource(pluginSource(), 'plugins/a.ts');
  const b = loadPluginSource(`${pluginSource()}\n// a comment\n`, 'plugins/a.ts');
  assert.notEqual(a.artifact.sha256, b.artifact.sha256);
});

test('source that does not compile is SYNTAX', () => {
  assertLoadError(`${pluginSource()}\nconst x: = ;\nfunction (`, 'plugins/broken.ts', 'SYNTAX');
});

test('source without a default export is NO_DEFAULT_EXPORT', () => {
  const source = pluginSource().replace('export default definePlugin', 'export const plugin = definePlugin');
  assertLoadError(source, 'plugins/nodefault.ts', 'NO_DEFAULT_EXPORT');
});

test('a default export that is not an object is NO_DEFAULT_EXPORT', () => {
  assertLoadError('export default 42;', 'plugins/number.ts', 'NO_DEFAULT_EXPORT');
});

test('a default export without handle or merge is NO_DEFAULT_EXPORT', () => {
  const noHandle = "export default { name: 'x', version: '1.0.0', apiVersion: 1, merge: (p: unknown[]) => p };";
  const noMerge = "export default { name: 'x', version: '1.0.0', apiVersion: 1, handle: () => 1 };";
  assertLoadError(noHandle, 'plugins/nohandle.ts', 'NO_DEFAULT_EXPORT', /handle/);
  assertLoadError(noMerge, 'plugins/nomerge.ts', 'NO_DEFAULT_EXPORT', /merge/);
});

test('a name that is not lower-case letters, digits and dashes is INVALID_NAME', () => {
  assertLoadError(pluginSource({ name: "'Bad Name'" }), 'plugins/badname.ts', 'INVALID_NAME', /Bad Name/);
  assertLoadError(pluginSource({ name: "'1abc'" }), 'plugins/digit.ts', 'INVALID_NAME');
  assertLoadError(pluginSource({ name: '42' }), 'plugins/notstring.ts', 'INVALID_NAME');
});

test('a version that is not MAJOR.MINOR.PATCH is INVALID_VERSION', () => {
  assertLoadError(pluginSource({ version: "'1.0'" }), 'plugins/badversion.ts', 'INVALID_VERSION', /1\.0/);
  assertLoadError(pluginSource({ version: "'latest'" }), 'plugins/latest.ts', 'INVALID_VERSION');
});

test('an apiVersion other than the host one is API_MISMATCH', () => {
  assertLoadError(pluginSource({ apiVersion: '2' }), 'plugins/api2.ts', 'API_MISMATCH', /apiVersion 2/);
});

test('importing anything but the plugin API is FORBIDDEN_IMPORT', () => {
  const used = pluginSource({ prelude: "import { readFileSync } from 'node:fs';\nconst read = readFileSync;", extra: '\n  description: typeof read,' });
  assertLoadError(used, 'plugins/fs.ts', 'FORBIDDEN_IMPORT', /node:fs/);
  assertLoadError(`import 'node:fs';\n${pluginSource()}`, 'plugins/sideeffect.ts', 'FORBIDDEN_IMPORT', /node:fs/);
  assertLoadError(pluginSource({ prelude: "const cp = require('child_process');\nvoid cp;" }), 'plugins/require.ts', 'FORBIDDEN_IMPORT', /child_process/);
  assertLoadError(pluginSource({ prelude: "import { x } from '../engine/plugin-api-extra';\nvoid x;" }), 'plugins/lookalike.ts', 'FORBIDDEN_IMPORT');
});

test('top-level code that throws is LOAD_FAILED', () => {
  assertLoadError(pluginSource({ prelude: "throw new Error('boom at load');" }), 'plugins/throws.ts', 'LOAD_FAILED', /boom at load/);
});

test('source over 1 MiB is TOO_LARGE', () => {
  const source = `${pluginSource()}\n// ${'x'.repeat(MAX_PLUGIN_SOURCE_BYTES)}\n`;
  assertLoadError(source, 'plugins/huge.ts', 'TOO_LARGE');
});

test('the 1 MiB cap counts UTF-8 bytes, not characters', () => {
  const base = pluginSource();
  // Under the cap in characters, over it in bytes (each '€' is 3 bytes).
  const source = `${base}\n// ${'€'.repeat(Math.ceil(MAX_PLUGIN_SOURCE_BYTES / 3))}\n`;
  assert.ok(source.length < MAX_PLUGIN_SOURCE_BYTES);
  assertLoadError(source, 'plugins/wide.ts', 'TOO_LARGE');
});

test('a plugin compiled once is read from the transpile cache: a later process loads it without @swc/core', () => {
  // A source of its own (the time), so the first process misses and the second hits.
  const source = pluginSource({ prelude: `// ${process.pid} ${Date.now()} ${Math.random()}` });
  const script = `
    const { loadPluginSource } = require(${JSON.stringify(require.resolve('./loader'))});
    const loaded = loadPluginSource(process.env.PLUGIN_SOURCE, 'cached.ts');
    const swcLoaded = Object.keys(require.cache).some((f) => f.includes('@swc/core'));
    process.stdout.write(JSON.stringify({ name: loaded.plugin.name, swcLoaded }));`;
  const run = (): { name: string; swcLoaded: boolean } => {
    const out = execFileSync(process.execPath, ['--require', require.resolve('../runtime/register.js'), '-e', script], { env: { ...process.env, PLUGIN_SOURCE: source }, encoding: 'utf8' });
    return JSON.parse(out) as { name: string; swcLoaded: boolean };
  };
  assert.deepEqual(run(), { name: 'sample', swcLoaded: true });
  assert.deepEqual(run(), { name: 'sample', swcLoaded: false });
});
