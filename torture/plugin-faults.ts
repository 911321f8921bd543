/**
 * Plugin faults: a plugin that throws, loops forever, exhausts its heap, returns too much, writes
 * while read-only, writes or reads outside its ranges, or does not load (syntax error, API version
 * mismatch) must get the caller a clear, typed error, while a normal request started at the same
 * time from another client comes back right, and the node is the same process afterwards.
 */
import { LocalCluster } from '../engine/cluster/local-cluster';
import { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { ClientError } from '../engine/client/errors';
import { SAMPLE_SCHEMA } from '../engine/plugin-api';
import { loadRows, syntheticCodec, syntheticRows } from '../workloads/datasets/synthetic';
import type { GroupResult } from '../plugins/aggregate';
import { FAULT_CASES, FORBIDDEN_KEYS, faultPluginFiles, type FaultCase } from './fault-plugins';
import { allOfFigure, atMostFigure, equalFigure, type FigureInput, type Scenario } from './types';

export interface FaultParams {
  rows: number;
  /** Each of the nine cases runs this many times. */
  repetitions: number;
  heapMb: number;
  deadlineMs: number;
  maxResultBytes: number;
  /** Bound on the concurrent normal request's latency. */
  normalBoundMs: number;
}

interface CaseOutcome {
  code: string | undefined;
  message: string;
  ms: number;
}

export const faultsScenario: Scenario<FaultParams> = {
  name: 'faults',
  title: 'misbehaving plugins are contained',
  sizes: {
    small: { rows: 4000, repetitions: 1, heapMb: 64, deadlineMs: 1500, maxResultBytes: 100_000, normalBoundMs: 10_000 },
    full: { rows: 20_000, repetitions: 3, heapMb: 64, deadlineMs: 1500, maxResultBytes: 100_000, normalBoundMs: 10_000 },
  },
  async run(p, ctx) {
    const cluster = await LocalCluster.start({
      nodes: 1,
      autoSplit: false,
      autoBalance: false,
      nodeArgs: ['--copr-heap-mb', String(p.heapMb), '--copr-deadline-ms', String(p.deadlineMs), '--copr-max-result-bytes', String(p.maxResultBytes)],
    });
    const faulty = await ClusterClient.connect({ placement: cluster.placementAddress });
    const normal = await ClusterClient.connect({ placement: cluster.placementAddress });
    try {
      let expectedSum = 0;
      for (const row of syntheticRows({ rows: p.rows, seed: ctx.seed })) expectedSum += syntheticCodec.read(row.value, 'amount') as number;
      await loadRows(normal, syntheticRows({ rows: p.rows, seed: ctx.seed }));
      await normal.set('zz:secret', 'not for plugins');
      const admin = cluster.placementAdmin();
      for (const [file, source] of Object.entries(faultPluginFiles(p.maxResultBytes))) await admin.call(['PD.PLUGIN.DEPLOY', file, source]);
      const faultCopr = new Coprocessor(faulty);
      const normalCopr = new Coprocessor(normal);
      const nodePid = cluster.nodes.get(1)!.pid;

      /** A real aggregate over the whole dataset: count and sum must be exact. */
      const normalRequest = async (): Promise<{ ok: boolean; ms: number; why: string }> => {
        const t0 = Date.now();
        try {
          const out = await normalCopr.run<unknown, GroupResult[]>({ plugin: 'aggregate', request: { schema: SAMPLE_SCHEMA, column: 'amount' }, mode: 'pushdown', start: 'row:', end: 'row;' });
          const g = out.result[0];
          const ok = out.result.length === 1 && g!.count === p.rows && Math.abs(g!.sum - expectedSum) <= 1e-9 * expectedSum;
          return { ok, ms: Date.now() - t0, why: ok ? '' : `aggregate answered ${JSON.stringify(out.result).slice(0, 120)}` };
        } catch (err) {
          return { ok: false, ms: Date.now() - t0, why: (err as Error).message };
        }
      };

      const trigger = async (c: FaultCase): Promise<CaseOutcome> => {
        const t0 = Date.now();
        try {
          if (c.trigger.kind === 'deploy') await admin.call(['PD.PLUGIN.DEPLOY', c.trigger.file, c.trigger.source]);
          else await faultCopr.run({ plugin: c.trigger.plugin, request: c.trigger.request, mode: 'pushdown', start: c.trigger.start, end: c.trigger.end, deadlineMs: c.trigger.deadlineMs });
          return { code: undefined, message: 'succeeded', ms: Date.now() - t0 };
        } catch (err) {
          const code = err instanceof ClientError ? err.serverCode : undefined;
          return { code, message: (err as Error).message, ms: Date.now() - t0 };
        }
      };

      let contained = 0;
      let total = 0;
      let normalWorst = 0;
      const failures: string[] = [];
      const perCase: FigureInput[] = [];
      for (const c of FAULT_CASES) {
        let caseOk = 0;
        let caseMs = 0;
        for (let rep = 0; rep < p.repetitions; rep++) {
          total++;
          // The fault and a normal request from another client, at the same time.
          const [fault, ok] = await Promise.all([trigger(c), normalRequest()]);
          normalWorst = Math.max(normalWorst, ok.ms);
          const node = cluster.nodes.get(1)!;
          const alive = node.pid === nodePid && node.child.exitCode === null && node.child.signalCode === null;
          const loadCodeOk = c.loadCode === undefined || fault.message.includes(`COPR_LOAD ${c.loadCode} `);
          const clear = fault.code === c.code && loadCodeOk && fault.message.length > 20;
          if (clear && ok.ok && alive) {
            contained++;
            caseOk++;
          } else if (failures.length < 4) {
            failures.push(`${c.name}: got ${fault.code ?? 'no code'} (${fault.message.slice(0, 160)}); normal request ${ok.ok ? 'ok' : `wrong: ${ok.why}`}; node ${alive ? 'alive' : 'restarted or gone'}`);
          }
          caseMs = Math.max(caseMs, fault.ms);
        }
        const expected = c.loadCode ? `${c.code} ${c.loadCode}` : c.code;
        perCase.push(allOfFigure(`${c.name} → ${expected}`, caseOk, p.repetitions, `slowest error after ${caseMs} ms`));
        ctx.log(`faults: ${c.name} → ${expected}: ${caseOk}/${p.repetitions} contained, slowest ${caseMs} ms`);
      }
      // Nothing a refused write tried to write is there.
      const leaked = (await normal.mget(FORBIDDEN_KEYS)).filter((v) => v !== undefined).length;
      const after = await normalRequest();
      return [
        allOfFigure('faults contained', contained, total, failures.length ? failures.join(' | ') : `${FAULT_CASES.length} kinds × ${p.repetitions}: typed error, concurrent normal request right, node not restarted`),
        ...perCase,
        equalFigure('writes that got through', leaked, 0, FORBIDDEN_KEYS.length, `keys the read-only and out-of-range writes aimed at: ${FORBIDDEN_KEYS.join(', ')}`),
        atMostFigure('normal request during a fault (worst)', normalWorst, p.normalBoundMs, total, `aggregate over ${p.rows} rows from another client, started with each fault; after all faults: ${after.ok ? 'correct' : `WRONG ${after.why}`} in ${after.ms} ms`, 'ms'),
      ];
    } finally {
      faulty.close();
      normal.close();
      await cluster.stop();
    }
  },
};
