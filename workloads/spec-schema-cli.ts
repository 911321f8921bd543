/**
 * `npm run spec-schema`: writes workloads/spec.schema.json and the field reference in
 * docs/workloads.md from the spec schema. `-- --check`: writes nothing, exits 1 naming the files
 * that are stale (what test/spec-schema.test.ts asserts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles } from './spec-docs';

const check = process.argv.includes('--check');
const stale: string[] = [];
for (const { file, text } of generatedFiles()) {
  const name = path.relative(process.cwd(), file);
  if (readFileSync(file, 'utf8') === text) continue;
  stale.push(name);
  if (!check) {
    writeFileSync(file, text);
    console.log(`wrote ${name}`);
  }
}
if (check && stale.length) {
  console.error(`stale (run npm run spec-schema): ${stale.join(', ')}`);
  process.exitCode = 1;
} else if (!stale.length) console.log('spec.schema.json and the reference in docs/workloads.md are up to date');
