/**
 * Whether the kernel pages out idle memory on its own: an active DAMON `pageout` scheme, as the
 * VMs this project is measured on run. It evicts memory not accessed for a while, LMDB's cached
 * file pages included, so a scan that follows such an idle spell reads from disk and runs slower:
 * absolute numbers then vary between runs on the same commit (docs/benchmarks.md, 2026-12-07
 * evening). Manifests and bench notes name it so that a reader can tell.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const DAMON_ADMIN = '/sys/kernel/mm/damon/admin/kdamonds';

function read(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
}

/**
 * One line per active DAMON pageout scheme, e.g. "DAMON pageout: memory idle for ≥ 60 s is paged
 * out, up to 128 MiB per 1000 ms"; null when there is none (or sysfs says nothing).
 */
export function kernelPageout(root: string = DAMON_ADMIN): string | null {
  const found: string[] = [];
  for (const kdamond of entries(root)) {
    const dir = path.join(root, kdamond);
    if (read(path.join(dir, 'state')) !== 'on') continue;
    for (const context of entries(path.join(dir, 'contexts'))) {
      const ctx = path.join(dir, 'contexts', context);
      const aggregationUs = Number(read(path.join(ctx, 'monitoring_attrs', 'intervals', 'aggr_us')));
      for (const scheme of entries(path.join(ctx, 'schemes'))) {
        const s = path.join(ctx, 'schemes', scheme);
        if (read(path.join(s, 'action')) !== 'pageout') continue;
        const minAge = Number(read(path.join(s, 'access_pattern', 'age', 'min')));
        const idle = Number.isFinite(minAge) && aggregationUs > 0 ? `memory idle for ≥ ${((minAge * aggregationUs) / 1e6).toFixed(0)} s` : 'idle memory';
        const bytes = Number(read(path.join(s, 'quotas', 'bytes')));
        const perMs = Number(read(path.join(s, 'quotas', 'reset_interval_ms')));
        const quota = bytes > 0 && perMs > 0 ? `, up to ${(bytes / 2 ** 20).toFixed(0)} MiB per ${perMs} ms` : '';
        found.push(`DAMON pageout: ${idle} is paged out${quota}`);
      }
    }
  }
  return found.length > 0 ? found.join('; ') : null;
}
