/**
 * A dataset spec's rows (what every backend loads), their key range, and their record schema,
 * which query kinds put into plugin requests (the plugins decode values with it).
 */
import { SAMPLE_SCHEMA, type Schema } from '../../engine/plugin-api';
import type { DatasetSpec } from '../spec';
import { FLIGHTS_SCHEMA, flightsRows } from './flights';
import { DEFAULT_FEATURES, regressionRows, regressionSchema } from './regression';
import { syntheticRows } from './synthetic';

/** The rows of a dataset spec, in key order (all datasets use keys `row:<9-digit id>`). */
export function datasetRows(dataset: DatasetSpec): Iterable<{ key: Buffer; value: Buffer }> | AsyncIterable<{ key: Buffer; value: Buffer }> {
  // flights: the first `rows` rows of vega-datasets' flights-3m.parquet (valueBytes/seed/categories do not apply).
  if (dataset.kind === 'flights') return flightsRows({ rows: dataset.rows });
  if (dataset.kind === 'regression') return regressionRows({ rows: dataset.rows, seed: dataset.seed, valueBytes: dataset.valueBytes, features: dataset.features, noise: dataset.noise });
  return syntheticRows({ rows: dataset.rows, seed: dataset.seed, valueBytes: dataset.valueBytes, categories: dataset.categories });
}

/** Every dataset's key range `[row:, row;)`: a plugin call over it covers the whole dataset. */
export function datasetRange(): { start: Buffer; end: Buffer } {
  return { start: Buffer.from('row:'), end: Buffer.from('row;') };
}

export function datasetSchema(dataset: DatasetSpec): Schema {
  switch (dataset.kind) {
    case 'synthetic':
      return SAMPLE_SCHEMA;
    case 'flights':
      return FLIGHTS_SCHEMA;
    case 'regression':
      return regressionSchema(dataset.features ?? DEFAULT_FEATURES);
  }
}
