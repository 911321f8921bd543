// TypeScript → JavaScript through @swc/core, cached on disk: the require hook (register.js) and the
// plugin loader (engine/coprocessor/loader.ts) share it.
//
// Outputs live in node_modules/.cache/copbench-ts, keyed by the file's name and source, the options
// and swc's version, and @swc/core is loaded only on a miss: loading it and transforming cost
// ~30 MiB of resident memory in every process (the harness's peak RSS is a goal, and each node is
// a process too). A source swc rejects is never cached: every load reports its error again.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const CACHE_DIR = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'copbench-ts');
const SWC_VERSION = JSON.parse(fs.readFileSync(require.resolve('@swc/core/package.json'), 'utf8')).version;

let swc;

/**
 * swc's output for `source` with `options` (swc's transform options, `filename` included), read
 * from the cache when this exact source was transpiled with these options before.
 */
function transpileCached(source, options) {
  const key = crypto.createHash('sha256').update(`${SWC_VERSION}\n${JSON.stringify(options)}\n`).update(source).digest('hex');
  const file = path.join(CACHE_DIR, `${key}.js`);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    // A miss (or an unreadable cache): transpile, and keep the output for the next process.
  }
  swc ??= require('@swc/core');
  const code = swc.transformSync(source, options).code;
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

module.exports = { transpileCached };
