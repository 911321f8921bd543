/**
 * Plugin faults: a plugin that throws, loops forever, exhausts its heap, returns too much, writes
 * while read-only, writes or reads outside its ranges, or does not load (syntax error, API version
 * mismatch) must get the caller a clear, typed error, while a normal request started at the same
 * time from another client comes back right, and the node is the same process afterwards.
 */
import type { LocalCluster } from '../engine/cluster/local-cluster';
import type { ClusterClient } from '../engine/client/cluster-client';
import { Coprocessor } from '../engine/client/coprocessor';
import { ClientError } from '../engine/client/errors';
import { loadRows, syntheticCodec, syntheticRows } from '../workloads/datasets/synthetic';
import { FAULT_CASES, FORBIDDEN_KEYS, faultPluginFiles, type FaultCase } from './fault-plugins';
import { Checks, aggregateAmount, isRunning, withCluster } from './common';
import { allOfFigure, atMostFigure, equalFigure, type FigureInput, type Scenario, type ScenarioContext } from './types';

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

/** How a fault's trigger ended: the error code and message the caller got, and after how long. */
interface CaseOutcome {
  code: string | undefined;
  message: string;
  ms: number;
}

/** How the normal request running next to a fault ended. */
interface NormalOutcome {
  ok: boolean;
  ms: number;
  why: string;
}

export const faultsScenario: Scenario<FaultParams> = {
  name: 'faults',
  title: 'misbehaving plugins are contained',
  sizes: {
    small: { rows: 4000, repetitions: 1, heapMb: 64, deadlineMs: 1500, maxResultBytes: 100_000, normalBoundMs: 10_000 },
    full: { rows: 20_000, repetitions: 3, heapMb: 64, deadlineMs: 1500, maxResultBytes: 100_000, normalBoundMs: 10_000 },
  },
  async run(p, ctx) {
    const nodeArgs = ['--copr-heap-mb', String(p.heapMb), '--copr-deadline-ms', String(p.deadlineMs), '--copr-max-result-bytes', String(p.maxResultBytes)];
    return withCluster({ nodes: 1, autoSplit: false, autoBalance: false, nodeArgs }, async ({ cluster, connect }) => {
      const faulty = await connect();
      const normal = await connect();
      await loadRows(normal, syntheticRows({ rows: p.rows, seed: ctx.seed }));
      await normal.set('zz:secret', 'not for plugins');
      for (const [file, source] of Object.entries(faultPluginFiles(p.maxResultBytes))) await cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', file, source]);
      const runner = new FaultRunner(cluster, faulty, normal, p, sumOfAmounts(p.rows, ctx.seed));
      const perCase: FigureInput[] = [];
      for (const c of FAULT_CASES) perCase.push(await runner.runCase(c, ctx));
      // Nothing a refused write tried to write is there.
      const leaked = (await normal.mget(FORBIDDEN_KEYS)).filter((v) => v !== undefined).length;
      const after = await runner.normalRequest();
      return [
        runner.contained.figure('faults contained', `${FAULT_CASES.length} kinds × ${p.repetitions}: typed error, concurrent normal request right, node not restarted`, ' | '),
        ...perCase,
        equalFigure('writes that got through', leaked, 0, FORBIDDEN_KEYS.length, `keys the read-only and out-of-range writes aimed at: ${FORBIDDEN_KEYS.join(', ')}`),
        atMostFigure('normal request during a fault (worst)', runner.normalWorst, p.normalBoundMs, runner.contained.n, `aggregate over ${p.rows} rows from another client, started with each fault; after all faults: ${after.ok ? 'correct' : `WRONG ${after.why}`} in ${after.ms} ms`, 'ms'),
      ];
    });
  },
};

/** The sum of `amount` over the generated rows: what the normal aggregate must answer. */
function sumOfAmounts(rows: number, seed: number): number {
  let sum = 0;
  for (const row of syntheticRows({ rows, seed })) sum += syntheticCodec.read(row.value, 'amount') as number;
  return sum;
}

/**
 * Triggers each fault from one client while another client makes a normal request, and tallies
 * whether the fault was contained: a clear typed error, a right normal answer, the same node process.
 */
class FaultRunner {
  /** One check per fault triggered: contained or not, and why not (the first four). */
  readonly contained = new Checks(4);
  /** The slowest normal request that ran next to a fault, in ms. */
  normalWorst = 0;
  private readonly faultCopr: Coprocessor;
  private readonly normalCopr: Coprocessor;
  private readonly nodePid: number;

  constructor(
    private readonly cluster: LocalCluster,
    faulty: ClusterClient,
    normal: ClusterClient,
    private readonly p: FaultParams,
    private readonly expectedSum: number,
  ) {
    this.faultCopr = new Coprocessor(faulty);
    this.normalCopr = new Coprocessor(normal);
    this.nodePid = cluster.nodes.get(1)!.pid;
  }

  /** Runs case `c` `repetitions` times; returns its own figure. */
  async runCase(c: FaultCase, ctx: ScenarioContext): Promise<FigureInput> {
    let caseOk = 0;
    let caseMs = 0;
    for (let rep = 0; rep < this.p.repetitions; rep++) {
      // The fault and a normal request from another client, at the same time.
      const [fault, normal] = await Promise.all([this.trigger(c), this.normalRequest()]);
      this.normalWorst = Math.max(this.normalWorst, normal.ms);
      if (this.judge(c, fault, normal)) caseOk++;
      caseMs = Math.max(caseMs, fault.ms);
    }
    const expected = c.loadCode ? `${c.code} ${c.loadCode}` : c.code;
    ctx.log(`faults: ${c.name} → ${expected}: ${caseOk}/${this.p.repetitions} contained, slowest ${caseMs} ms`);
    return allOfFigure(`${c.name} → ${expected}`, caseOk, this.p.repetitions, `slowest error after ${caseMs} ms`);
  }

  /** A real aggregate over the whole dataset: count and sum must be exact. */
  async normalRequest(): Promise<NormalOutcome> {
    const t0 = Date.now();
    try {
      const out = await aggregateAmount(this.normalCopr);
      const g = out.result[0];
      const ok = out.result.length === 1 && g!.count === this.p.rows && Math.abs(g!.sum - this.expectedSum) <= 1e-9 * this.expectedSum;
      return { ok, ms: Date.now() - t0, why: ok ? '' : `aggregate answered ${JSON.stringify(out.result).slice(0, 120)}` };
    } catch (err) {
      return { ok: false, ms: Date.now() - t0, why: (err as Error).message };
    }
  }

  /** A deploy through placement, or a pushdown call of the faulty plugin; never throws. */
  private async trigger(c: FaultCase): Promise<CaseOutcome> {
    const t0 = Date.now();
    try {
      if (c.trigger.kind === 'deploy') await this.cluster.placementAdmin().call(['PD.PLUGIN.DEPLOY', c.trigger.file, c.trigger.source]);
      else await this.faultCopr.run({ plugin: c.trigger.plugin, request: c.trigger.request, mode: 'pushdown', start: c.trigger.start, end: c.trigger.end, deadlineMs: c.trigger.deadlineMs });
      return { code: undefined, message: 'succeeded', ms: Date.now() - t0 };
    } catch (err) {
      const code = err instanceof ClientError ? err.serverCode : undefined;
      return { code, message: (err as Error).message, ms: Date.now() - t0 };
    }
  }

  /** Records whether the fault was contained (and why not); true when it was. */
  private judge(c: FaultCase, fault: CaseOutcome, normal: NormalOutcome): boolean {
    const node = this.cluster.nodes.get(1)!;
    const alive = node.pid === this.nodePid && isRunning(node);
    const loadCodeOk = c.loadCode === undefined || fault.message.includes(`COPR_LOAD ${c.loadCode} `);
    const clear = fault.code === c.code && loadCodeOk && fault.message.length > 20;
    if (clear && normal.ok && alive) {
      this.contained.pass();
      return true;
    }
    this.contained.fail(`${c.name}: got ${fault.code ?? 'no code'} (${fault.message.slice(0, 160)}); normal request ${normal.ok ? 'ok' : `wrong: ${normal.why}`}; node ${alive ? 'alive' : 'restarted or gone'}`);
    return false;
  }
}
