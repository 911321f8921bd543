/**
 * Runs a plugin's `handle` + `merge` in this process over rows already held in memory, exactly as
 * client mode runs them (CheckedStorage, msgpack boundaries around the request and each partial),
 * but with no wire in between. ml-train's `client-cached` mode trains on rows it pulled once this
 * way, and the cost model times the plugin on calibration rows and estimates result sizes on a
 * sampled subset with it.
 */
import { pack, unpack } from 'msgpackr';
import { CheckedStorage, type RowSource } from '../../engine/coprocessor/checked-storage';
import type { LoadedPlugin } from '../../engine/coprocessor/loader';
import { NO_STATE, compareBytes, inRange, type KeyRange, type KV } from '../../engine/plugin-api';

/** Rows of one region (or any key range), held in memory as batches in key order. */
export interface InMemoryRegion {
  range: KeyRange;
  batches: KV[][];
}

/** A RowSource over one in-memory region. */
export function memoryRows(region: InMemoryRegion): RowSource {
  return {
    get(key) {
      const k = Buffer.from(key);
      for (const batch of region.batches) for (const row of batch) if (Buffer.from(row.key).equals(k)) return row.value;
      return undefined;
    },
    scanBatches(range, options) {
      // Plugins usually scan their call's range, i.e. the whole region: hand out the batches as held.
      const whole = compareBytes(range.start, region.range.start) === 0 && compareBytes(range.end, region.range.end) === 0;
      const batches = whole ? region.batches : region.batches.map((b) => b.filter((row) => inRange(row.key, range))).filter((b) => b.length > 0);
      return options.reverse ? [...batches].reverse().map((b) => [...b].reverse()) : batches;
    },
  };
}

export interface InMemoryRun<Res> {
  /** merge(parts) */
  result: Res;
  /** One partial per region, as it came out of the msgpack boundary. */
  parts: unknown[];
  /** Packed size of each partial (what pushdown would send back for that region), bytes. */
  partBytes: number[];
  rowsScanned: number;
  /** This process's CPU over the handles and the merge (user + system). */
  cpuUs: number;
  /** Wall time of the handles and the merge. */
  wallMs: number;
}

/** handle per region (in order) + merge, as client mode runs them. */
export async function runPluginInMemory<Res>(plugin: LoadedPlugin, request: unknown, regions: InMemoryRegion[]): Promise<InMemoryRun<Res>> {
  const payload = pack(request);
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let rowsScanned = 0;
  const parts: unknown[] = [];
  const partBytes: number[] = [];
  for (const region of regions) {
    const ranges = [region.range];
    const controller = new AbortController();
    const storage = new CheckedStorage(memoryRows(region), ranges, false, { maxRowsScanned: Number.MAX_SAFE_INTEGER, maxBytesScanned: Number.MAX_SAFE_INTEGER }, controller.signal);
    const partial = await plugin.plugin.handle(unpack(payload), { ranges, storage, signal: controller.signal, where: 'client', state: NO_STATE });
    const packed = pack(partial);
    partBytes.push(packed.length);
    parts.push(unpack(packed));
    rowsScanned += storage.counters.rowsScanned;
  }
  const result = plugin.plugin.merge(parts, unpack(payload)) as Res;
  const cpu = process.cpuUsage(cpu0);
  return { result, parts, partBytes, rowsScanned, cpuUs: cpu.user + cpu.system, wallMs: Number(process.hrtime.bigint() - started) / 1e6 };
}
