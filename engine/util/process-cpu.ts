/**
 * CPU time a local process has used, all its threads together, read from /proc/<pid>/stat (Linux).
 * Read before and after a load run, it gives the process's CPU per request, which is what decides
 * throughput when a server and its load generator share a few cores.
 */
import { execFileSync } from 'node:child_process';
import { readProcFile } from './proc-file';

export interface ProcessCpu {
  userSeconds: number;
  systemSeconds: number;
}

let ticksPerSecond: number | undefined;

/** USER_HZ, the unit of /proc's CPU times (100 on every common Linux; asked of getconf once). */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The user and system CPU time of `pid` so far, or undefined when the process is gone (or /proc is not there). */
export function processCpu(pid: number): ProcessCpu | undefined {
  const stat = readProcFile(pid, 'stat');
  if (stat === undefined) return undefined;
  // Fields after the command name, which is in parentheses and may contain spaces: state is field 3,
  // utime and stime fields 14 and 15 (man 5 proc).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = clockTicksPerSecond();
  return { userSeconds: Number(fields[11]) / hz, systemSeconds: Number(fields[12]) / hz };
}

/** CPU used between two readings of the same process. */
export function cpuSince(before: ProcessCpu, after: ProcessCpu): ProcessCpu {
  return { userSeconds: after.userSeconds - before.userSeconds, systemSeconds: after.systemSeconds - before.systemSeconds };
}
