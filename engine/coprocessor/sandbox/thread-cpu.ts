/** CPU time of the calling thread, in microseconds (Linux: /proc/thread-self/schedstat, ns resolution). */
import { readFileSync } from 'node:fs';

let available = true;

export function threadCpuUs(): number {
  if (!available) return 0;
  try {
    const text = readFileSync('/proc/thread-self/schedstat', 'latin1');
    return Number(text.slice(0, text.indexOf(' '))) / 1000;
  } catch {
    available = false;
    return 0;
  }
}
