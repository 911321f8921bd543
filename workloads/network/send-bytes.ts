/** Writes `bytes` filler bytes to a socket in 64 KiB blocks, pausing on backpressure; then calls `done`. */
import type net from 'node:net';

export function sendBytes(socket: net.Socket, bytes: number, done?: () => void): void {
  const block = Buffer.alloc(64 * 1024, 7);
  let left = bytes;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, block.length);
      left -= n;
      if (!socket.write(n === block.length ? block : block.subarray(0, n))) return void socket.once('drain', pump);
    }
    done?.();
  };
  pump();
}
