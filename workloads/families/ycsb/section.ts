/** The ycsb family's spec section: YCSB's core workload properties. */
import { fail, int, nullable, num, object, optionalNullable, type Check } from '../../spec-checks';

export interface YcsbSpec {
  /** Fractions of reads, updates, inserts (sum to 1). */
  readProportion: number;
  updateProportion: number;
  insertProportion: number;
  /** Zipfian skew of key popularity (YCSB's default 0.99). */
  zipfianTheta: number;
  /** Operations per repetition. */
  operations: number;
  /** Concurrent clients (closed loop) when `targetOpsPerSec` is 0, else the in-flight cap. */
  clients: number;
  /** Open-loop target rate; 0 = as fast as possible (closed loop). */
  targetOpsPerSec: number;
}

const shape = object({
  readProportion: num(0, 1),
  updateProportion: num(0, 1),
  insertProportion: num(0, 1),
  zipfianTheta: num(0, 0.9999),
  operations: int(1),
  clients: int(1, 10_000),
  targetOpsPerSec: num(0, 1e9),
});

/** `ycsb`: the section, or null; its proportions must sum to 1. */
export const ycsbSection: Check = optionalNullable((v, f) => {
  const y = nullable(shape)(v, f) as YcsbSpec;
  const sum = y.readProportion + y.updateProportion + y.insertProportion;
  if (Math.abs(sum - 1) > 1e-9) fail(f, `read/update/insert proportions must sum to 1, got ${sum}`);
  return y;
});
