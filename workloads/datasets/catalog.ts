/**
 * A dataset spec's record schema, which query kinds put into plugin requests (the plugins decode
 * values with it). The session loads the rows (workloads/driver/session.ts `datasetRows`).
 */
import { SAMPLE_SCHEMA, type Schema } from '../../engine/plugin-api';
import type { DatasetSpec } from '../spec';
import { FLIGHTS_SCHEMA } from './flights';
import { DEFAULT_FEATURES, regressionSchema } from './regression';

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
