/** The ycsb family's spec section: YCSB's core workload properties. */
import type { z } from 'zod';
import { int, num, object, optionalNullable, refine } from '../../spec-checks';

const proportions = object({
  readProportion: num(0, 1).describe('fraction of operations that are reads'),
  updateProportion: num(0, 1).describe('fraction of operations that are updates'),
  insertProportion: num(0, 1).describe('fraction of operations that are inserts (the three sum to 1)'),
  zipfianTheta: num(0, 0.9999).describe("zipfian skew of key popularity (YCSB's default 0.99)"),
  operations: int(1).describe('operations per repetition'),
  clients: int(1, 10_000).describe('concurrent clients (closed loop) when `targetOpsPerSec` is 0, else the in-flight cap'),
  targetOpsPerSec: num(0, 1e9).describe('open-loop target rate, operations per second; 0: as fast as possible (closed loop)'),
});

/** `ycsb`: the section, or null (left out in other families' specs); its proportions must sum to 1. */
export const ycsbSection = optionalNullable(
  refine(proportions, (y) => {
    const sum = y.readProportion + y.updateProportion + y.insertProportion;
    return Math.abs(sum - 1) > 1e-9 ? `read/update/insert proportions must sum to 1, got ${sum}` : null;
  }),
).describe('the ycsb family\'s section (kind `ycsb`): YCSB\'s core workload properties');

/** YCSB's core workload properties, as the schema gives them. */
export type YcsbSpec = z.output<typeof proportions>;

/** The top-level spec fields the family owns. */
export const YCSB_SECTIONS = { ycsb: ycsbSection };
