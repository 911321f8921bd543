/**
 * A few large buffers, handed out and taken back, so a server that writes big replies writes them
 * from memory it has written before. Writing a freshly allocated 128 KB buffer to a loopback socket
 * took ~390 µs per write(2) here against ~45 µs for a reused one (p50 of 2000 writes, two
 * processes; perf counted ~16 more page faults per iteration). A node serving ClusterClient scans
 * did 1.99-2.26M rows/s with its SCANRANGE replies in reused buffers, 0.89-1.03M with a fresh one
 * per reply (alternating runs, idle machine). Measure before using it elsewhere: the bench's
 * streaming pipe, writing 64 KB chunks, was slower with reused buffers (see bench/pipe-server.ts).
 */
export class ReusableBuffers {
  private readonly free: Buffer[] = [];

  /**
   * @param bytes size of every buffer handed out
   * @param keep how many returned buffers are kept for reuse (the rest are left to the GC)
   */
  constructor(
    readonly bytes: number,
    private readonly keep: number,
  ) {}

  /** A buffer of `bytes` bytes (contents undefined): a returned one when there is one, else new. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.bytes);
  }

  /** Takes back a buffer from `take` once nothing refers to its bytes any more. */
  give(buffer: Buffer): void {
    if (buffer.length === this.bytes && this.free.length < this.keep && !this.free.includes(buffer)) this.free.push(buffer);
  }
}
