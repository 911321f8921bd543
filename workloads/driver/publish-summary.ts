/**
 * The one place a run's summary leaves the process: summary.json and the table printed on stdout.
 * Every family hands its summary and its table here (FamilyRunIo.publishSummary), so what names the
 * run — the workload, its family and kind, and the backend it ran on — is added alike for every
 * family, by the driver: the backend from the same BackendReport the manifest records and the
 * report shows.
 */
import { backendLabel, type BackendReport } from '../backends/backend';
import type { ResultsWriter } from './results/writer';

/** What every family's summary starts with (the rest is the family's own). */
export interface SummaryHead {
  workload: string;
  family: string;
  kind: string;
}

/** What a summary says about its backend: the manifest's `backend.kind` and `backend.version`. */
export type SummaryBackend = Pick<BackendReport, 'kind' | 'version'>;

/** Writes a family's summary (after the head and the backend) and prints its table under a line naming workload and backend. */
export type PublishSummary = (summary: Record<string, unknown>, printTable: () => void) => void;

export function summaryPublisher(writer: ResultsWriter, head: SummaryHead, backend: BackendReport): PublishSummary {
  const { workload, family, kind } = head;
  const named: SummaryBackend = { kind: backend.kind, version: backend.version };
  return (rest, printTable) => {
    writer.writeSummary({ workload, family, kind, backend: named, ...rest });
    process.stdout.write(`\nsummary: ${workload} on backend ${backendLabel(named)}\n`);
    printTable();
  };
}
