// A minimal TypeScript require hook on @swc/core: transpiles each .ts file on load (no type check),
// without loading the TypeScript compiler, so engine processes start in a fraction of ts-node's time.
// Type checking is `tsc --noEmit` in `npm test`.
//
// Transpiled files are cached on disk (transpile-cache.js): @swc/core is loaded only on a miss.
'use strict';
const fs = require('node:fs');
const { transpileCached } = require('./transpile-cache');

const options = (filename) => ({
  filename,
  sourceMaps: 'inline',
  // ignoreDynamic keeps import() native, so ESM-only packages (tinybench, vega) still load.
  module: { type: 'commonjs', strict: false, noInterop: false, ignoreDynamic: true },
  jsc: { parser: { syntax: 'typescript', decorators: false }, target: 'es2022', keepClassNames: true },
  swcrc: false,
  configFile: false,
});

require.extensions['.ts'] = function compileTypeScript(module, filename) {
  module._compile(transpileCached(fs.readFileSync(filename, 'utf8'), options(filename)), filename);
};
