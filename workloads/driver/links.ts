/**
 * Link profiles for a run: `unlimited` uses the client's sockets as they are; any other profile
 * puts every node connection of the client behind one emulated link (shared bandwidth per
 * direction plus added round-trip time).
 */
import type net from 'node:net';
import type { SocketLike } from '../../engine/client/connection';
import { EmulatedLink, parseLinkProfile } from './network/link';

export interface LinkHandle {
  name: string;
  wrapSocket?: (socket: net.Socket) => SocketLike;
  close(): void;
}

export function linkFor(spec: string): LinkHandle {
  const profile = parseLinkProfile(spec);
  if (profile.bandwidthBitsPerSec === null && profile.rttMs === 0) return { name: profile.name, close: () => undefined };
  const link = new EmulatedLink(profile);
  return { name: profile.name, wrapSocket: (socket) => link.wrap(socket), close: () => link.close() };
}
