// A minimal TypeScript require hook on @swc/core: transpiles each .ts file on load (no type check),
// without loading the TypeScript compiler, so engine processes start in a fraction of ts-node's time.
// Type checking is `tsc --noEmit` in `npm test`.
//
// Transpiled files are cached on disk (node_modules/.cache/copbench-ts, keyed by the file's path and
// source, the options and swc's version), and @swc/core is loaded only on a miss: loading it and
// transforming cost ~30 MiB of resident memory in every process (the harness's peak RSS is a goal,
// and each node is a process too).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const options = (filename) => ({
  filename,
  sourceMaps: 'inline',
  // ignoreDynamic keeps import() native, so ESM-only packages (tinybench, vega) still load.
  module: { type: 'commonjs', strict: false, noInterop: false, ignoreDynamic: true },
  jsc: { parser: { syntax: 'typescript', decorators: false }, target: 'es2022', keepClassNames: true },
  swcrc: false,
  configFile: false,
});

const CACHE_DIR = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'copbench-ts');
const SWC_VERSION = JSON.parse(fs.readFileSync(require.resolve('@swc/core/package.json'), 'utf8')).version;
const OPTIONS_KEY = `${SWC_VERSION}\n${JSON.stringify(options(''))}`;

let swc;
function transpile(source, filename) {
  swc ??= require('@swc/core');
  return swc.transformSync(source, options(filename)).code;
}

/** The cached output for this file and source, or a fresh transpile written to the cache. */
function compiled(source, filename) {
  const key = crypto.createHash('sha256').update(OPTIONS_KEY).update('\n').update(filename).update('\n').update(source).digest('hex');
  const file = path.join(CACHE_DIR, `${key}.js`);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    // A miss (or an unreadable cache): transpile, and keep the output for the next process.
  }
  const code = transpile(source, filename);
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    // Written aside, then renamed: a process reading the cache never sees half a file.
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, code);
    fs.renameSync(temp, file);
  } catch {
    // No cache (read-only checkout): every process transpiles, as before.
  }
  return code;
}

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  module._compile(compiled(fs.readFileSync(filename, 'utf8'), filename), filename);
};
