/** Messages between a node's main thread and its plugin worker threads. */
import type { MemoryQuotas } from './memory-quota';
import type { StateCounters, StateScope } from '../state-store';

/** Error codes a coprocessor call can end with; each is the first word of the RESP error reply. */
export type CoprErrorCode =
  | 'COPR_NOT_FOUND' // no plugin with that name, or no version matching the range
  | 'COPR_BAD_REQUEST' // malformed COPR.EXEC arguments or payload
  | 'COPR_PLUGIN_ERROR' // the plugin threw
  | 'COPR_DEADLINE' // the call ran past its deadline; the worker was terminated and replaced
  | 'COPR_HEAP' // the worker ran out of its heap limit; it was replaced
  | 'COPR_SCAN_BUDGET' // the call scanned more rows or bytes than allowed
  | 'COPR_RESULT_TOO_LARGE' // the partial result is over the size cap
  | 'COPR_READ_ONLY' // a write from a plugin that did not declare `writes`
  | 'COPR_OUT_OF_RANGE' // a read or write outside the call's ranges
  | 'COPR_WORKER_CRASH' // the worker died for another reason; it was replaced
  | 'COPR_MEMORY' // the call holds more memory than its per-call quota
  | 'COPR_STATE_TOO_LARGE' // the plugin tried to keep one state value larger than the whole state quota
  | 'COPR_BUSY'; // the node's coprocessor queue or memory quota is full (admission control): retry later, or run the region client-side

export class CoprError extends Error {
  constructor(
    readonly code: CoprErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CoprError';
  }
}

export interface WireRange {
  start: Uint8Array;
  end: Uint8Array;
}

export interface ExecLimits {
  maxRowsScanned: number;
  maxBytesScanned: number;
  maxResultBytes: number;
}

/** What one plugin call needs, as the pool receives it and hands it to a worker. */
export interface ExecPayload {
  sha256: string;
  /** Compiled plugin JavaScript (the worker caches the evaluated module by sha256). */
  js: string;
  file: string;
  /** msgpack-encoded request. */
  request: Uint8Array;
  ranges: WireRange[];
  limits: ExecLimits;
  /** A call of a session: the plugin's state scope (its sha256 is the payload's). Absent: no state. */
  state?: Omit<StateScope, 'sha256' | 'ranges'>;
}

/** A call as a worker receives it: the plugin's code comes only with the worker's first call of that sha256. */
export interface ExecTask extends Omit<ExecPayload, 'js'> {
  type: 'exec';
  id: number;
  js?: string;
}

/** What the worker measured about one call. */
export interface WorkerStats {
  rowsScanned: number;
  bytesScanned: number;
  rowsWritten: number;
  /**
   * CPU time of the worker thread since its previous call ended: this call, plus receiving its task
   * (from /proc/thread-self/schedstat; an idle worker uses none).
   */
  cpuUs: number;
  /** Wall time inside the worker, from task receipt to result ready. */
  runUs: number;
  /** The worker's plugin state after the call: bytes held and its counters since the worker started. */
  state: { heldBytes: number; entries: number; counters: StateCounters };
}

/** The caller is done with a session: the worker drops its state (COPR.ENDSESSION). */
export interface EndSession {
  type: 'end-session';
  session: string;
}

/** A worker's plugin state, reported after something other than a call changed it. */
export interface StateReport {
  type: 'state';
  state: WorkerStats['state'];
}

export type ExecReply =
  | { type: 'done'; id: number; partial: Uint8Array; stats: WorkerStats }
  | { type: 'failed'; id: number; code: CoprErrorCode; message: string; stats: WorkerStats };

export interface WorkerInit {
  dataDir: string;
  /**
   * OS scheduling priority (nice, 0..19) of the worker thread: above 0, the node's main thread,
   * which serves point operations, runs ahead of plugin work when they compete for a core.
   */
  nice: number;
  /** Memory quotas, and the ledger (shared with the pool) where this worker publishes its call's use. */
  memory: { quotas: MemoryQuotas; ledger: SharedArrayBuffer; slot: number };
  /** This worker's share of the node's plugin-state quota (bytes; 0: no state), and how errors name that quota. */
  state: { quotaBytes: number; quotaName: string };
}

/**
 * A plugin's write (a put, or a delete when `value` is null), sent by a worker to the node's main
 * thread: the main thread's store owns the write-ahead log, so workers never write LMDB themselves.
 */
export interface WriteRequest {
  type: 'write';
  writeId: number;
  key: Uint8Array;
  value: Uint8Array | null;
}

export interface WriteReply {
  type: 'written';
  writeId: number;
  /** Set when the write failed. */
  error?: string;
}
