/**
 * Where a call's partial results go as its pieces of work answer — copbench's regions, or the
 * Redis runner's units — and how they become the answer. Shared by both plugin runners so that
 * "hand the answer's rows over in key order, holding a bounded number of pieces" is written once.
 */
import type { Plugin, RowStream } from '../plugin-api';

/** The rows of an answer that went to onRows instead of into the answer, and the time the caller took. */
export interface StreamedRows {
  /** The answer field the rows went to (in the answer it holds an empty array of their count). */
  field: string;
  rows: number;
  consumerMs: number;
  consumerCpuUs: number;
}

/** What a call that may stream its rows gives: the caller's row consumer and the call's fan-out. */
export interface RowsTaker {
  onRows?: (rows: unknown[]) => void;
  /** Pieces in flight at once (default 4). */
  concurrency?: number;
}

/**
 * A call's partials, indexed by the call's initial pieces in key order (a piece that split since
 * gives several, in key order). Without a row stream: decoded as they arrive, all kept for `merge`.
 * With one: handed on in key order — a piece once it and every piece before it have arrived — its
 * rows to onRows and only the rest of it kept. A piece starts only within `window` pieces of the
 * first not yet handed on, so what waits for an earlier piece is bounded, and it waits as it came
 * off the wire (`Encoded`: msgpack bytes, a Redis reply), decoded when handed on.
 */
export class Partials<Encoded> {
  private readonly kept: unknown[][] = [];
  private readonly waiting = new Map<number, Encoded[]>();
  private readonly wakeups: Array<() => void> = [];
  private next = 0;
  private rows = 0;
  /** The time onRows took, to leave out of the call's (the caller's work, not the call's). */
  consumerNs = 0n;
  consumerCpuUs = 0;

  constructor(
    private readonly decode: (encoded: Encoded) => unknown,
    private readonly stream: { rowStream: RowStream<unknown>; onRows: (rows: unknown[]) => void; window: number } | null,
  ) {}

  /**
   * For a call: streamed when the caller takes rows and the plugin gives a row stream for the
   * request. The window is twice the call's concurrency, so pieces that answer a little out of
   * order never hold up the fan-out.
   */
  static forCall<Req, Encoded>(plugin: Plugin<Req, unknown, unknown>, request: Req, call: RowsTaker, decode: (encoded: Encoded) => unknown): Partials<Encoded> {
    const rowStream = call.onRows ? (plugin.streamRows?.(request) ?? null) : null;
    return new Partials(decode, rowStream && call.onRows ? { rowStream, onRows: call.onRows, window: 2 * (call.concurrency ?? 4) } : null);
  }

  /**
   * Runs `work` for every piece (it bounds its own concurrency), each once it is admitted, and
   * takes what it gives as the piece's partials.
   */
  async collect<Piece>(pieces: readonly Piece[], work: (piece: Piece) => Promise<Encoded[]>): Promise<void> {
    await Promise.all(
      pieces.map(async (piece, index) => {
        await this.admit(index);
        this.arrived(index, await work(piece));
      }),
    );
  }

  /** Resolves when piece `index` may start. */
  private async admit(index: number): Promise<void> {
    while (this.stream && index >= this.next + this.stream.window) await new Promise<void>((resolve) => this.wakeups.push(resolve));
  }

  private arrived(index: number, encoded: Encoded[]): void {
    if (!this.stream) {
      this.kept[index] = encoded.map((e) => this.decode(e));
      return;
    }
    this.waiting.set(index, encoded);
    for (let ready = this.waiting.get(this.next); ready; ready = this.waiting.get(this.next)) {
      this.waiting.delete(this.next);
      this.kept[this.next] = ready.map((e) => this.handOn(this.decode(e)));
      this.next++;
    }
    for (const wake of this.wakeups.splice(0)) wake();
  }

  /**
   * The answer: `merge` over every partial (or its rest, with a row stream), in key order. With a
   * row stream its rows field is an empty array of the rows' count (`length` is right, its entries
   * are holes) and `streamed` says where they went; else `streamed` is null.
   */
  answer<Res>(merge: (parts: unknown[]) => Res): { result: Res; streamed: StreamedRows | null } {
    const merged = merge(this.kept.flat());
    if (!this.stream) return { result: merged, streamed: null };
    const { field } = this.stream.rowStream;
    return {
      result: { ...(merged as object), [field]: new Array(this.rows) } as Res,
      streamed: { field, rows: this.rows, consumerMs: Number(this.consumerNs) / 1e6, consumerCpuUs: this.consumerCpuUs },
    };
  }

  private handOn(partial: unknown): unknown {
    const { rowStream, onRows } = this.stream!;
    const rows = rowStream.rows(partial);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    onRows(rows);
    this.consumerNs += process.hrtime.bigint() - t0;
    const cpu = process.cpuUsage(cpu0);
    this.consumerCpuUs += cpu.user + cpu.system;
    this.rows += rows.length;
    return rowStream.rest(partial);
  }
}
