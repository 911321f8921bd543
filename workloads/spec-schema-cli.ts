/**
 * `npm run spec-schema`: writes workloads/spec.schema.json and the field reference in
 * docs/workloads.md from the spec schema. `-- --check`: writes nothing, exits 1 naming the files
 * that are stale (what test/spec-schema.test.ts asserts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCommand } from '../engine/cli/flags';
import { generatedFiles } from './spec-docs';

const FLAGS = {
  check: { type: 'boolean', help: 'write nothing; exit 1 when a generated file is stale' },
} as const;

const USAGE = 'npm run spec-schema [-- --check]';
const DESCRIPTION =
  'Writes workloads/spec.schema.json (the JSON Schema every spec names by $schema) and the spec field\nreference in docs/workloads.md (between its spec-reference markers), both from the spec schema\nthat validates specs (workloads/spec.ts and what the registries add).';

runCommand({ usage: USAGE, description: DESCRIPTION, flags: FLAGS }, async (flags) => {
  const stale: string[] = [];
  for (const { file, text } of generatedFiles()) {
    if (readFileSync(file, 'utf8') === text) continue;
    const name = path.relative(process.cwd(), file);
    stale.push(name);
    if (!flags.check) {
      writeFileSync(file, text);
      console.log(`wrote ${name}`);
    }
  }
  if (flags.check && stale.length) {
    console.error(`stale (run npm run spec-schema): ${stale.join(', ')}`);
    process.exitCode = 1;
  } else if (!stale.length) console.log('workloads/spec.schema.json and the reference in docs/workloads.md are up to date');
});
