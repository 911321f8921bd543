/**
 * Every command behaves alike: `--help` prints its help and exits 0, `--version` prints copbench's
 * version and exits 0, and a usage error (an unknown flag) exits 2 with the message and the help
 * text on stderr, before the command starts anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Every command's entry point (the npm scripts, and the node and placement processes). */
const COMMANDS: Record<string, string> = {
  workload: 'workloads/driver/cli.ts',
  report: 'reports/cli.ts',
  'spec-schema': 'workloads/spec-schema-cli.ts',
  bench: 'bench/run.ts',
  cluster: 'engine/cluster/cli.ts',
  plugin: 'engine/cluster/plugin-cli.ts',
  demo: 'engine/cluster/demo.ts',
  torture: 'torture/cli.ts',
  node: 'engine/node/main.ts',
  placement: 'engine/placement/main.ts',
};

const run = (file: string, args: string[]) => spawnSync(process.execPath, ['--require', './engine/runtime/register.js', file, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

test('the npm scripts that are commands are all covered here', () => {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  for (const [name, line] of Object.entries(scripts)) {
    const entry = /register\.js (\S+\.ts)$/.exec(line)?.[1];
    if (entry) assert.equal(COMMANDS[name], entry, `npm run ${name} (${entry}) is listed`);
  }
});

for (const [name, file] of Object.entries(COMMANDS)) {
  test(`${name}: --help, --version, and a usage error`, () => {
    const help = run(file, ['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: /);
    assert.match(help.stdout, /--version/);

    const version = run(file, ['--version']);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout, `copbench ${VERSION}\n`);

    const bad = run(file, name === 'plugin' ? ['list', '--no-such-flag'] : ['--no-such-flag']);
    assert.equal(bad.status, 2, `exit code (stderr: ${bad.stderr})`);
    assert.match(bad.stderr, /^error: .*no-such-flag/);
    assert.match(bad.stderr, /Usage: /, 'the help text follows the error');
  });
}
