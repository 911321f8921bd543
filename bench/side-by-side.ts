/**
 * Side-by-side repetitions: copbench and its baseline measured alternately in the same run, so
 * drift on the machine (other processes, heat, caches) falls on both.
 */
import type { BenchConfig } from './cli-config';

/** Runs each contender `reps` times, alternating (A B A B ...), after one warm-up each. */
export async function sideBySide(cfg: BenchConfig, contenders: Array<() => Promise<number>>, warmups: Array<() => Promise<unknown>>): Promise<number[][]> {
  for (const w of warmups) await w();
  const samples: number[][] = contenders.map(() => []);
  for (let r = 0; r < cfg.reps; r++) {
    for (let c = 0; c < contenders.length; c++) samples[c]!.push(await contenders[c]!());
  }
  return samples;
}
