/**
 * PluginRegistry: versions side by side, newest-match resolution, hot replacement from the same
 * file, DUPLICATE from another file, removal, and failed installs that never disturb loaded plugins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PluginLoadError } from './loader';
import { PluginNotFoundError, PluginRegistry } from './registry';

/** A plugin's source; `tag` changes the code (and so the sha) without changing name@version. */
function src(name: string, version: string, tag = ''): string {
  return `import { definePlugin } from '../engine/plugin-api';
export default definePlugin({
  name: '${name}', version: '${version}', apiVersion: 1,
  description: '${tag}',
  handle: (): string => '${name}@${version}${tag}',
  merge: (parts: string[]): string => parts.join(','),
});
`;
}

const BROKEN = 'export default definePlugin({ name: ';

function withVersions(...versions: string[]): PluginRegistry {
  const registry = new PluginRegistry();
  for (const v of versions) registry.install(src('agg', v), `plugins/agg-${v}.ts`);
  return registry;
}

function assertNotFound(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PluginNotFoundError, `expected PluginNotFoundError, got ${String(err)}`);
    assert.equal(err.code, 'COPR_NOT_FOUND');
    assert.match(err.message, message);
    return true;
  });
}

function assertLoadError(fn: () => unknown, code: string): PluginLoadError {
  let caught: PluginLoadError | undefined;
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PluginLoadError, `expected PluginLoadError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    caught = err;
    return true;
  });
  return caught!;
}

const versionsOf = (registry: PluginRegistry, name: string): string[] =>
  registry
    .list()
    .filter((r) => r.state === 'loaded' && r.name === name)
    .map((r) => r.version);

test('several versions of one name are loaded side by side', () => {
  const registry = withVersions('2.0.0', '1.0.0', '1.2.5', '1.2.0', '1.3.0');
  assert.deepEqual(versionsOf(registry, 'agg'), ['1.0.0', '1.2.0', '1.2.5', '1.3.0', '2.0.0']);
  assert.equal(registry.loaded().length, 5);
});

test('resolve picks the newest version satisfying the range', () => {
  const registry = withVersions('2.0.0', '1.0.0', '1.2.5', '1.2.0', '1.3.0', '2.1.0');
  const resolved = (range?: string): string => registry.resolve('agg', range).artifact.version;
  assert.equal(resolved(), '2.1.0');
  assert.equal(resolved('*'), '2.1.0');
  assert.equal(resolved('^1'), '1.3.0');
  assert.equal(resolved('~1.2'), '1.2.5');
  assert.equal(resolved('1.0.0'), '1.0.0');
  assert.equal(resolved('>=2'), '2.1.0');
  assert.equal(resolved('<2'), '1.3.0');
});

test('resolve with no satisfying version throws PluginNotFoundError listing the versions', () => {
  const registry = withVersions('1.0.0', '1.2.0');
  assertNotFound(() => registry.resolve('agg', '^3'), /no version of 'agg' satisfies '\^3'.*agg@1\.0\.0.*agg@1\.2\.0/);
});

test('resolve of an unknown name throws PluginNotFoundError listing every loaded plugin', () => {
  const registry = withVersions('1.0.0');
  registry.install(src('filter', '0.1.0'), 'plugins/filter.ts');
  assertNotFound(() => registry.resolve('nope'), /no plugin named 'nope'.*agg@1\.0\.0.*filter@0\.1\.0/);
  assertNotFound(() => new PluginRegistry().resolve('nope'), /loaded: none/);
});

test('re-installing the same file with new code at the same name@version replaces it', () => {
  const registry = new PluginRegistry();
  const first = registry.install(src('agg', '1.0.0', 'v1'), 'plugins/agg.ts');
  const second = registry.install(src('agg', '1.0.0', 'v2'), 'plugins/agg.ts');
  assert.notEqual(first.artifact.sha256, second.artifact.sha256);
  const resolved = registry.resolve('agg', '1.0.0');
  assert.equal(resolved.artifact.sha256, second.artifact.sha256);
  assert.equal(resolved.plugin.description, 'v2');
  assert.equal(registry.loaded().length, 1);
  assert.equal(registry.bySha(first.artifact.sha256), undefined);
});

test('a different file declaring an existing name@version is DUPLICATE and the original is kept', () => {
  const registry = new PluginRegistry();
  const original = registry.install(src('agg', '1.0.0', 'original'), 'plugins/agg.ts');
  const err = assertLoadError(() => registry.install(src('agg', '1.0.0', 'impostor'), 'plugins/other.ts'), 'DUPLICATE');
  assert.match(err.message, /plugins\/other\.ts/);
  assert.match(err.message, /agg@1\.0\.0 is already provided by plugins\/agg\.ts/);
  const resolved = registry.resolve('agg', '1.0.0');
  assert.equal(resolved.artifact.sha256, original.artifact.sha256);
  assert.equal(resolved.artifact.file, 'plugins/agg.ts');
  const failed = registry.list().filter((r) => r.state === 'failed');
  assert.deepEqual(
    failed.map((r) => r.file),
    ['plugins/other.ts'],
  );
  assert.match(failed[0]!.error ?? '', /DUPLICATE/);
});

test('a file that changes its version drops the version it declared before', () => {
  const registry = new PluginRegistry();
  registry.install(src('agg', '1.0.0'), 'plugins/agg.ts');
  registry.install(src('agg', '1.1.0'), 'plugins/agg.ts');
  assert.deepEqual(versionsOf(registry, 'agg'), ['1.1.0']);
  assertNotFound(() => registry.resolve('agg', '1.0.0'), /agg@1\.1\.0/);
});

test('a file that changes its name drops the name it declared before', () => {
  const registry = new PluginRegistry();
  registry.install(src('old-name', '1.0.0'), 'plugins/p.ts');
  registry.install(src('new-name', '1.0.0'), 'plugins/p.ts');
  assert.deepEqual(
    registry.list().map((r) => `${r.name}@${r.version}`),
    ['new-name@1.0.0'],
  );
  assertNotFound(() => registry.resolve('old-name'), /no plugin named 'old-name'/);
});

test('changing the version of one file leaves other files providing the same name alone', () => {
  const registry = new PluginRegistry();
  registry.install(src('agg', '1.0.0'), 'plugins/agg-v1.ts');
  registry.install(src('agg', '2.0.0'), 'plugins/agg-v2.ts');
  registry.install(src('agg', '2.1.0'), 'plugins/agg-v2.ts');
  assert.deepEqual(versionsOf(registry, 'agg'), ['1.0.0', '2.1.0']);
});

test('removeFile removes whatever that file provided', () => {
  const registry = withVersions('1.0.0', '2.0.0');
  registry.install(src('filter', '1.0.0'), 'plugins/filter.ts');
  registry.removeFile('plugins/agg-2.0.0.ts');
  assert.deepEqual(versionsOf(registry, 'agg'), ['1.0.0']);
  registry.removeFile('plugins/agg-1.0.0.ts');
  assertNotFound(() => registry.resolve('agg'), /no plugin named 'agg'.*filter@1\.0\.0/);
  assert.equal(registry.resolve('filter').artifact.file, 'plugins/filter.ts');
});

test('removeFile also forgets a failure recorded for that file', () => {
  const registry = new PluginRegistry();
  assertLoadError(() => registry.install(BROKEN, 'plugins/broken.ts'), 'SYNTAX');
  registry.removeFile('plugins/broken.ts');
  assert.deepEqual(registry.list(), []);
});

test('remove deletes one name@version and reports whether it existed', () => {
  const registry = withVersions('1.0.0', '2.0.0');
  assert.equal(registry.remove('agg', '2.0.0'), true);
  assert.equal(registry.remove('agg', '2.0.0'), false);
  assert.equal(registry.remove('nope', '1.0.0'), false);
  assert.equal(registry.resolve('agg').artifact.version, '1.0.0');
  assert.equal(registry.remove('agg', '1.0.0'), true);
  assert.deepEqual(registry.list(), []);
  assertNotFound(() => registry.resolve('agg'), /no plugin named 'agg'; loaded: none/);
});

test('a failed install is listed as failed and does not affect loaded plugins', () => {
  const registry = new PluginRegistry();
  const good = registry.install(src('agg', '1.0.0', 'good'), 'plugins/agg.ts');
  // A broken edit of the very file that provides the loaded plugin: the old code keeps serving.
  const err = assertLoadError(() => registry.install(BROKEN, 'plugins/agg.ts'), 'SYNTAX');
  assertLoadError(() => registry.install(src('Bad Name', '1.0.0'), 'plugins/bad.ts'), 'INVALID_NAME');
  assert.equal(registry.resolve('agg').artifact.sha256, good.artifact.sha256);
  const rows = registry.list();
  assert.deepEqual(
    rows.map((r) => [r.file, r.state]),
    [
      ['plugins/agg.ts', 'loaded'],
      ['plugins/agg.ts', 'failed'],
      ['plugins/bad.ts', 'failed'],
    ],
  );
  assert.equal(rows[1]!.error, err.message);
  assert.match(rows[2]!.error ?? '', /INVALID_NAME/);
});

test('a later successful install of a failed file clears its failure', () => {
  const registry = new PluginRegistry();
  assertLoadError(() => registry.install(BROKEN, 'plugins/agg.ts'), 'SYNTAX');
  assert.equal(registry.list().filter((r) => r.state === 'failed').length, 1);
  registry.install(src('agg', '1.0.0'), 'plugins/agg.ts');
  assert.deepEqual(
    registry.list().map((r) => [r.file, r.state]),
    [['plugins/agg.ts', 'loaded']],
  );
});

test('bySha finds a plugin by the sha256 of its source', () => {
  const registry = withVersions('1.0.0', '2.0.0');
  const v1 = registry.resolve('agg', '1.0.0');
  assert.equal(registry.bySha(v1.artifact.sha256), v1);
  assert.equal(registry.bySha('0'.repeat(64)), undefined);
});
