/** Reading a process's files under /proc (Linux). */
import { readFileSync } from 'node:fs';

/** /proc/<pid>/<name> as text, or undefined when the process is gone (or /proc is not there). */
export function readProcFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'latin1');
  } catch {
    return undefined;
  }
}
