import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { kernelPageout } from './kernel-pageout';

/** A DAMON admin tree as sysfs lays it out, with the files kernelPageout reads. */
function damonTree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'copbench-damon-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), `${text}\n`);
  }
  return root;
}

const SCHEME = '0/contexts/0/schemes/0';
const ACTIVE_PAGEOUT = {
  '0/state': 'on',
  '0/contexts/0/monitoring_attrs/intervals/aggr_us': '5000000',
  [`${SCHEME}/action`]: 'pageout',
  [`${SCHEME}/access_pattern/age/min`]: '12',
  [`${SCHEME}/quotas/bytes`]: '134217728',
  [`${SCHEME}/quotas/reset_interval_ms`]: '1000',
};

test('an active DAMON pageout scheme is described: idle age in seconds and its quota', () => {
  const root = damonTree(ACTIVE_PAGEOUT);
  try {
    assert.equal(kernelPageout(root), 'DAMON pageout: memory idle for ≥ 60 s is paged out, up to 128 MiB per 1000 ms');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('no pageout to report: the kdamond is off, the scheme does something else, or there is no DAMON', () => {
  for (const files of [{ ...ACTIVE_PAGEOUT, '0/state': 'off' }, { ...ACTIVE_PAGEOUT, [`${SCHEME}/action`]: 'stat' }]) {
    const root = damonTree(files);
    try {
      assert.equal(kernelPageout(root), null);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  assert.equal(kernelPageout(path.join(os.tmpdir(), 'copbench-no-such-damon-dir')), null);
});
