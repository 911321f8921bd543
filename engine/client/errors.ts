/**
 * Typed client errors. `code` says what a caller can do:
 * - UNAVAILABLE: a node or the placement service cannot be reached (retry later, check the cluster);
 * - TIMEOUT: no answer within the deadline;
 * - REGION: the region kept moving or splitting under the request past the retry budget;
 * - SERVER: the server refused the request (bad arguments, limits) — retrying will not help;
 * - PROTOCOL: the peer sent bytes that are not RESP;
 * - CLOSED: the client was closed.
 */
import { RespError } from '../protocol/resp';

export type ClientErrorCode = 'UNAVAILABLE' | 'TIMEOUT' | 'REGION' | 'SERVER' | 'PROTOCOL' | 'CLOSED';

/** Server error codes that mean "the routing changed or is changing: refresh and retry". */
export const RETRYABLE_SERVER_CODES = new Set(['MOVED', 'EPOCH', 'TRYAGAIN', 'CLUSTERDOWN', 'NOTOWNER']);

export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** The server's own error code (first word of the reply), when the server answered. */
    readonly serverCode?: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }

  static fromReply(reply: RespError, address: string): ClientError {
    return new ClientError('SERVER', `${address}: ${reply.message}`, reply.code);
  }

  /** True when refreshing the region map and retrying may succeed. */
  get retryable(): boolean {
    if (this.code === 'UNAVAILABLE' || this.code === 'TIMEOUT') return true;
    return this.code === 'SERVER' && this.serverCode !== undefined && RETRYABLE_SERVER_CODES.has(this.serverCode);
  }
}
