/**
 * The real `flights` dataset: 3 000 000 US domestic flights (January–June 2001, from the U.S.
 * Bureau of Transportation Statistics) as shipped in the npm package vega-datasets
 * (`data/flights-3m.parquet`, ZSTD, 11 row groups of ~272 727 rows, sorted by date). Read with
 * hyparquet + hyparquet-compressors; a row limit reads only the row groups it needs, so a small
 * limit does not decode the whole file.
 *
 * Records are FLIGHTS_SCHEMA under keys `row:<9-digit id>`, id = row index in the file (so key
 * order is file order, which is date order) — the same keyspace `[row:, row;)` as the synthetic
 * dataset. Dataset spec fields `valueBytes`, `seed` and `categories` do not apply (the bytes are
 * those of the file's first `rows` rows, always the same). The dataset fingerprint hashes the spec,
 * not the file: bump GENERATOR_VERSION (fingerprint.ts) if this encoding or the pinned file changes.
 */
import path from 'node:path';
import { RecordCodec, type Schema } from '../../engine/plugin-api';
import { syntheticKey } from './synthetic';

/** Rows in flights-3m.parquet. */
export const FLIGHTS_TOTAL_ROWS = 3_000_000;

export const FLIGHTS_SCHEMA: Schema = {
  name: 'flights',
  columns: [
    /** Row index in the file (= key order). */
    { name: 'id', type: 'u32' },
    /** Scheduled departure, local wall-clock time written as if UTC, epoch milliseconds. */
    { name: 'date', type: 'f64' },
    /** Hour of `date`, 0..23 (local time). */
    { name: 'hour', type: 'i32' },
    /** Day of week of `date`, 0 = Sunday .. 6 = Saturday. */
    { name: 'weekday', type: 'i32' },
    /** Arrival delay in minutes (negative: early). */
    { name: 'delay', type: 'i32' },
    /** Miles. */
    { name: 'distance', type: 'i32' },
    /** IATA airport codes. */
    { name: 'origin', type: 'string' },
    { name: 'destination', type: 'string' },
  ],
};

export const flightsCodec = new RecordCodec(FLIGHTS_SCHEMA);

export interface Flight {
  id: number;
  date: number;
  hour: number;
  weekday: number;
  delay: number;
  distance: number;
  origin: string;
  destination: string;
}

/** Path of flights-3m.parquet inside the installed vega-datasets package. */
export function flightsFile(): string {
  // The package's `exports` hide package.json; its main entry is <pkg>/build/index.js.
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'flights-3m.parquet');
}

export interface ReadFlightsOptions {
  /** First `rows` rows of the file (all when absent). */
  rows?: number;
  /** Another parquet file of the same columns (tests). */
  file?: string;
}

const COLUMNS = ['date', 'delay', 'distance', 'origin', 'destination'] as const;

/** The first `rows` flights in file order, in batches (at most one parquet row group each). */
export async function* readFlights(options: ReadFlightsOptions = {}): AsyncGenerator<Flight[]> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetScan } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const file = await asyncBufferFromFile(options.file ?? flightsFile());
  const metadata = await parquetMetadataAsync(file);
  const total = Number(metadata.num_rows);
  const limit = Math.min(options.rows ?? total, total);
  // Timestamps are INT64 microseconds: keep them as epoch milliseconds, not Date objects.
  const scan = await parquetScan({ file, metadata, compressors, parsers: { timestampFromMicroseconds: (micros: bigint) => Number(micros / 1000n) } });
  for (const range of scan.ranges) {
    if (range.rowStart >= limit) break;
    const rowStart = range.rowStart;
    const rowEnd = Math.min(range.rowEnd, limit);
    const [date, delay, distance, origin, destination] = await Promise.all(COLUMNS.map((column) => scan.readColumn({ column, rowStart, rowEnd })));
    const batch: Flight[] = new Array(rowEnd - rowStart);
    for (let i = 0; i < batch.length; i++) {
      const id = rowStart + i;
      const d = date![i];
      const de = delay![i];
      const di = distance![i];
      const o = origin![i];
      const ds = destination![i];
      if (d == null || de == null || di == null || o == null || ds == null) throw new Error(`flights: row ${id} has a null column (this reader expects none)`);
      const ms = Number(d);
      const wallClock = new Date(ms);
      batch[i] = { id, date: ms, hour: wallClock.getUTCHours(), weekday: wallClock.getUTCDay(), delay: Number(de), distance: Number(di), origin: String(o), destination: String(ds) };
    }
    yield batch;
  }
}

/** Encoded rows in key order, for loading. */
export async function* flightsRows(options: ReadFlightsOptions = {}): AsyncGenerator<{ key: Buffer; value: Buffer }> {
  for await (const batch of readFlights(options)) {
    for (const flight of batch) {
      const value = flightsCodec.encode(flight as unknown as Record<string, number | string>);
      yield { key: syntheticKey(flight.id), value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
    }
  }
}
