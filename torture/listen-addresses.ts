/**
 * The TCP addresses a local process actually listens on, read from the kernel (Linux /proc): the
 * process's socket inodes from /proc/<pid>/fd, matched against the LISTEN sockets in
 * /proc/net/tcp and /proc/net/tcp6. This checks the bound address, not what the process claims.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ListenAddress {
  host: string;
  port: number;
}

const TCP_LISTEN = '0A';

/** Inodes of the sockets `pid` holds open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* closed while we looked */
    }
  }
  return inodes;
}

/** "0100007F" (IPv4, little-endian word) → "127.0.0.1"; 32 hex digits (IPv6, four LE words) → "::", "::1" or eight groups. */
export function decodeProcAddress(hex: string): string {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.length === 4) return bytes.join('.');
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) reads as the IPv4 address.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  if (bytes.every((b) => b === 0)) return '::';
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return '::1';
  return groups.join(':');
}

/** Every TCP address `pid` listens on (IPv4 and IPv6). Throws when /proc is not readable. */
export function listenAddresses(pid: number): ListenAddress[] {
  const inodes = socketInodes(pid);
  const out: ListenAddress[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (cols.length < 10 || cols[3] !== TCP_LISTEN || !inodes.has(cols[9]!)) continue;
      const [addr, port] = cols[1]!.split(':');
      out.push({ host: decodeProcAddress(addr!), port: parseInt(port!, 16) });
    }
  }
  return out;
}

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}
