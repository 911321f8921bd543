/**
 * The docs say only what is there: every `npm run X` in README.md and docs/ names a script of
 * package.json, and every relative link resolves to a file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');
const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const scripts = Object.keys((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

test('every `npm run X` in the README and docs/ is a script of package.json', () => {
  const wrong: string[] = [];
  for (const doc of DOCS) {
    for (const [, name] of readFileSync(path.join(ROOT, doc), 'utf8').matchAll(/npm run(?: -s)? ([a-z][\w-]*(?::[\w-]+)*)/g)) {
      if (!scripts.includes(name!)) wrong.push(`${doc}: npm run ${name}`);
    }
  }
  assert.deepEqual(wrong, [], `scripts are: ${scripts.join(', ')}`);
});

test('every relative link in the README and docs/ resolves', () => {
  const broken: string[] = [];
  for (const doc of DOCS) {
    const text = readFileSync(path.join(ROOT, doc), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!) || target!.startsWith('#')) continue; // a URL or an anchor in the same page
      const file = target!.split('#')[0]!;
      if (!existsSync(path.resolve(path.dirname(path.join(ROOT, doc)), decodeURIComponent(file)))) broken.push(`${doc}: ${target}`);
    }
  }
  assert.deepEqual(broken, []);
});
