/**
 * Plugin state kept across the calls of a session (PluginState in plugin-api.ts), one store per
 * plugin worker thread on a node and one per client-side Coprocessor: the same code in both
 * places, so a plugin's state behaves alike in pushdown and client mode.
 *
 * Entries live in scopes (plugin sha256, session, region id). A scope remembers the region
 * incarnation it was filled under (epoch, in-node the region's data version, and the call's key
 * ranges); a call that arrives with another incarnation empties the scope first, so a plugin never
 * sees state of rows other than the ones its call covers now. Entries are evicted least recently used once the bytes held pass the quota.
 */
import type { KeyRange, PluginState } from '../plugin-api';
import { CoprError } from './sandbox/messages';

/** Which region incarnation a call's state belongs to. */
export interface StateScope {
  sha256: string;
  /** Chosen by the caller; calls of one session share state. */
  session: string;
  regionId: number;
  epoch: number;
  /** Bumped on the node by every write to the region (0 client-side, where writes are not seen). */
  dataVersion: number;
  /** The call's key ranges: state built from other rows of the region is not this call's. */
  ranges: ReadonlyArray<KeyRange>;
}

/** A session id: 1-64 letters, digits, `_ . : -` (it travels as a COPR.EXEC argument and in logs). */
export const SESSION_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface StateCounters {
  hits: number;
  misses: number;
  sets: number;
  /** Entries dropped to stay under the quota. */
  evictions: number;
  /** Scopes emptied because their region's epoch or data version changed. */
  invalidations: number;
  /** Values refused for being larger than the whole quota. */
  refusals: number;
}

interface Entry {
  value: unknown;
  bytes: number;
  scope: string;
}

const MIB = 1024 * 1024;

export class PluginStateStore {
  /** Entries by scope + key, least recently used first (a Map iterates in insertion order). */
  private readonly entries = new Map<string, Entry>();
  /** Per scope: the incarnation it holds state of, and its entries' keys. */
  private readonly scopes = new Map<string, { incarnation: string; keys: Set<string> }>();
  private held = 0;
  readonly counters: StateCounters = { hits: 0, misses: 0, sets: 0, evictions: 0, invalidations: 0, refusals: 0 };

  constructor(
    /** Bytes all entries together may hold; 0 keeps nothing (state off). */
    readonly quotaBytes: number,
    /** Names the quota in errors: which setting it is and how to raise it. */
    private readonly quotaName: string,
  ) {}

  get heldBytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The PluginState a call sees; without a scope (no session), or with state off, it keeps nothing. */
  view(scope: StateScope | undefined): PluginState {
    if (!scope || this.quotaBytes <= 0) return DISABLED;
    const scopeId = `${scope.sha256}\u0000${scope.session}\u0000${scope.regionId}`;
    this.enter(scopeId, `${scope.epoch}.${scope.dataVersion}.${scope.ranges.map((r) => `${hex(r.start)}-${hex(r.end)}`).join(',')}`);
    return {
      enabled: true,
      get: <T>(key: string): T | undefined => this.get(scopeId, key) as T | undefined,
      set: (key: string, value: unknown, bytes?: number): void => this.set(scopeId, key, value, bytes ?? estimateBytes(value)),
    };
  }

  /** Drops every entry of a session (its caller is done with it). */
  dropSession(session: string): void {
    for (const scopeId of [...this.scopes.keys()]) if (scopeId.split('\u0000')[1] === session) this.dropScope(scopeId);
  }

  /** A call arrives for a scope: state of another incarnation of the region is stale, drop it. */
  private enter(scopeId: string, incarnation: string): void {
    const scope = this.scopes.get(scopeId);
    if (scope && scope.incarnation !== incarnation) {
      this.dropScope(scopeId);
      this.counters.invalidations++;
    }
    if (!this.scopes.has(scopeId)) this.scopes.set(scopeId, { incarnation, keys: new Set() });
  }

  private get(scopeId: string, key: string): unknown {
    const id = `${scopeId}\u0000${key}`;
    const entry = this.entries.get(id);
    if (!entry) {
      this.counters.misses++;
      return undefined;
    }
    this.counters.hits++;
    this.entries.delete(id); // most recently used goes last
    this.entries.set(id, entry);
    return entry.value;
  }

  private set(scopeId: string, key: string, value: unknown, bytes: number): void {
    if (!(Number.isFinite(bytes) && bytes >= 0)) throw new CoprError('COPR_PLUGIN_ERROR', `state.set('${key}'): bytes must be a number >= 0, got ${String(bytes)}`);
    const id = `${scopeId}\u0000${key}`;
    this.remove(id);
    if (bytes > this.quotaBytes) {
      this.counters.refusals++;
      throw new CoprError(
        'COPR_STATE_TOO_LARGE',
        `plugin state '${key.slice(0, 64)}' of ${(bytes / MIB).toFixed(1)} MiB is larger than the whole state quota of ${(this.quotaBytes / MIB).toFixed(1)} MiB (${this.quotaName}); raise it, split the data into more (smaller) regions, or call without a session`,
      );
    }
    // The scope exists: view() entered it, and nothing drops scopes while a call holds its view
    // except this store's own eviction, which leaves the scope record in place.
    this.scopes.get(scopeId)?.keys.add(id);
    this.entries.set(id, { value, bytes, scope: scopeId });
    this.held += bytes;
    this.counters.sets++;
    for (const [oldest, entry] of this.entries) {
      if (this.held <= this.quotaBytes) break;
      this.remove(oldest);
      this.scopes.get(entry.scope)?.keys.delete(oldest);
      this.counters.evictions++;
    }
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.held -= entry.bytes;
  }

  private dropScope(scopeId: string): void {
    const scope = this.scopes.get(scopeId);
    if (!scope) return;
    for (const id of scope.keys) this.remove(id);
    this.scopes.delete(scopeId);
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

const DISABLED: PluginState = Object.freeze({ enabled: false, get: () => undefined, set: () => undefined });

/**
 * What a value holds, roughly: typed arrays and ArrayBuffers by byteLength, 8 bytes per number,
 * 2 per string character, walking arrays and plain objects (16 bytes of overhead each). Plugins
 * that know better pass `bytes` to `set`.
 */
export function estimateBytes(value: unknown, seen = new Set<object>()): number {
  if (typeof value === 'number' || typeof value === 'bigint') return 8;
  if (typeof value === 'string') return 2 * value.length;
  if (typeof value === 'boolean' || value === null || value === undefined) return 8;
  if (typeof value !== 'object') return 16;
  if (seen.has(value)) return 0;
  seen.add(value);
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + estimateBytes(v, seen), 16);
  if (value instanceof Map) return [...value].reduce((n: number, [k, v]) => n + estimateBytes(k, seen) + estimateBytes(v, seen), 16);
  if (value instanceof Set) return [...value].reduce((n: number, v) => n + estimateBytes(v, seen), 16);
  return Object.entries(value).reduce((n, [k, v]) => n + 2 * k.length + estimateBytes(v, seen), 16);
}
