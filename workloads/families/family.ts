/**
 * A workload family: one kind of study (plugin queries, YCSB point operations, ML training, …)
 * with everything the driver and the reports need from it, registered by name in registry.ts.
 * The driver (workloads/driver/cli.ts) and the reports (reports/) call these functions and never
 * branch on a family's name; summary.json records which family wrote it.
 */
import type { Check } from '../spec-checks';
import type { WorkloadSpec } from '../spec';
import type { Backend, LoadReport } from '../backends/backend';
import type { ResultsWriter, SampleRow } from '../driver/results/writer';
import type { PublishSummary } from '../driver/publish-summary';
import type { LinkInfo } from '../../reports/links';
import type { ChartSpec } from '../../reports/specs/common';
import type { ReportTable, Verdict } from '../../reports/tables';

/** What a family may consult while checking a spec, before anything starts. */
export interface CheckEnvironment {
  /** `host:port` of a running cluster's placement (`--placement`); absent: the embedded cluster. */
  cluster?: string;
  log(line: string): void;
}

/** What a family's runner gets. */
export interface FamilyRunIo {
  writer: ResultsWriter;
  log(line: string): void;
  /** The load phase's report (written into summary.json); null when the family loads its own data. */
  load: LoadReport | null;
  /** Writes summary.json and prints the table (`printTable`); the driver adds what names the run (the backend). */
  publishSummary: PublishSummary;
}

/** How a run ended, as the family judges it. */
export interface FamilyRunEnd {
  /** Non-null when the run's results are invalid (e.g. the modes' answers differ): the CLI exits 1 with it. */
  failure: string | null;
}

/** What the family-specific report code gets besides its view. */
export interface ReportContext {
  workload: string;
  /** The run's links, slowest first. */
  links: LinkInfo[];
  samples: SampleRow[];
}

/** One run of a comparison, as a family's compare hook gets it. */
export interface ComparedRun<View> {
  /** What tells this run apart from the others ("redis-cluster", "concurrency=2"): legends and table columns use it. */
  label: string;
  view: View;
  ctx: ReportContext;
}

/** What the comparison page shows about the runs as a whole (titles name it). */
export interface CompareContext {
  /** The runs' workload name(s), e.g. "filter" or "filter, aggregate". */
  workload: string;
}

/** A family's charts and tables of several runs drawn together (compare.html). */
export interface FamilyComparison {
  charts: ChartSpec[];
  tables: ReportTable[];
  /** Sentences for the top of the page: where the runs disagree, what could not be drawn and why. */
  notes: string[];
}

/** The report side of a family: a typed view of its summary.json, and its charts and tables. */
export interface FamilyReport<View> {
  /** The typed view of a summary this family wrote; throws (naming what is wrong) on another shape. */
  view(summary: Record<string, unknown>, file: string): View;
  /** Runs written before summaries named their family: true when the summary has this family's shape. */
  recognizes(summary: Record<string, unknown>): boolean;
  /** Names of the links the view measured. */
  linkNames(view: View): string[];
  charts(view: View, ctx: ReportContext): ChartSpec[];
  tables(view: View, ctx: ReportContext): ReportTable[];
  verdict(view: View): Verdict;
  /**
   * Several runs of this family on the same charts, one series per run (`npm run report --
   * --compare`); runs come in the order given, at least two. Absent: the family cannot be compared
   * (the CLI says so).
   */
  compare?(runs: ReadonlyArray<ComparedRun<View>>, ctx: CompareContext): FamilyComparison;
}

export interface WorkloadFamily<View = unknown> {
  /** The family's name, as summary.json records it. */
  readonly name: string;
  /** The spec `kind`s this family runs. */
  readonly kinds: readonly string[];
  /**
   * Spec sections this family owns: top-level fields, as zod schemas (spec-checks.ts) that the spec
   * schema takes in (each may be left out or null in other specs; `.describe()` them: that text is
   * the field's docs). Also add their type to FamilySections in registry.ts.
   */
  readonly sections: Readonly<Record<string, Check>>;
  /** Checks that need no cluster or files, run by validateSpec (throws SpecError naming the field). */
  checkSpec(spec: WorkloadSpec): void;
  /** Checks before anything starts or is written (plugins exist, requests are accepted): throws SpecError naming the field. */
  prepare(spec: WorkloadSpec, env: CheckEnvironment): Promise<void>;
  /** True when the runner loads its own data (the driver then skips the load phase). */
  loadsItsOwnData?(spec: WorkloadSpec): boolean;
  /** Units of work for the progress bar. */
  plannedWork(spec: WorkloadSpec): { label: string; total: number };
  /** Runs the measurement: appends samples, publishes its summary and table through `io.publishSummary` (the driver adds workload, family, kind and backend). */
  run(spec: WorkloadSpec, backend: Backend, io: FamilyRunIo & { tick(n: number): void }): Promise<FamilyRunEnd>;
  readonly report: FamilyReport<View>;
}

/** A family typed by its own view, stored in the registry without its view type. */
export function defineFamily<View>(family: WorkloadFamily<View>): WorkloadFamily<unknown> {
  return family as unknown as WorkloadFamily<unknown>;
}
