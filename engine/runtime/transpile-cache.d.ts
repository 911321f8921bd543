import type { Options } from '@swc/core';

/** swc's output for `source` with `options`, from the on-disk cache when this source and these options were transpiled before. */
export function transpileCached(source: string, options: Options): string;
