/**
 * Memory of a local process read from /proc/<pid>/status (Linux): resident set size now, its
 * high-water mark since the process started (VmHWM, so a peak between two polls is not missed),
 * and how the RSS splits into anonymous memory (heaps, buffers) and file-backed pages (for a node:
 * LMDB's mapped data file, reclaimable page cache).
 */
import { readProcFile } from './proc-file';

export interface ProcessMemory {
  rssBytes: number;
  /** Highest RSS since the process started. */
  peakRssBytes: number;
  anonRssBytes: number;
  fileRssBytes: number;
}

/** The memory of `pid`, or undefined when the process is gone (or /proc is not there). */
export function processMemory(pid: number): ProcessMemory | undefined {
  const status = readProcFile(pid, 'status');
  if (status === undefined) return undefined;
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM'), anonRssBytes: kib('RssAnon'), fileRssBytes: kib('RssFile') };
}

/**
 * This process's peak RSS, bytes: VmHWM where /proc has it, else getrusage's maxRSS. Not maxRSS
 * first: Linux starts a spawned process's maxRSS from the RSS of the parent it was forked from (a
 * bench child of a 341 MiB parent reported a maxRSS of 304 MiB at its first line, VmHWM 40 MiB).
 */
export function ownPeakRssBytes(): number {
  const peak = processMemory(process.pid)?.peakRssBytes;
  // maxRSS is in KiB on every platform Node supports (libuv normalizes it).
  return peak !== undefined && Number.isFinite(peak) ? peak : process.resourceUsage().maxRSS * 1024;
}
