/**
 * The registry of plugins that have a Lua twin in functions/copbench.lua, keyed by plugin name:
 * which Redis Function computes the plugin's partial, which requests it answers exactly as the
 * TypeScript `handle` would (the rest are refused with a reason, never answered differently), and
 * how its reply becomes the plugin's partial type.
 */
import type { Condition, Schema } from '../../../engine/plugin-api';
import type { RespValue } from '../../../engine/protocol/resp';
import type { AggregateRequest, GroupState } from '../../../plugins/aggregate';
import type { FilterRequest } from '../../../plugins/filter';
import type { SgdPartial, SgdRequest } from '../../../plugins/sgd';
import { decodeMember } from './layout';

export interface LuaPushdown<Req, Partial> {
  /** The Redis Function's name. */
  fn: string;
  /** Throws (a message a user can act on) for a request the function would not answer exactly. */
  check(request: Req): void;
  /** The function's reply for one unit → the plugin's partial for the same rows. */
  decode(reply: RespValue, request: Req): Partial;
}

function columnType(schema: Schema, name: string): string {
  const column = schema.columns.find((c) => c.name === name);
  if (!column) throw new Error(`the schema ${schema.name} has no column '${name}'`);
  return column.type;
}

/**
 * Conditions whose Lua comparison means what JavaScript's does: same-typed values only (JS would
 * coerce, Lua errors), and no ordering of strings (Lua orders them by the server's locale).
 */
function checkConditions(schema: Schema, where: readonly Condition[] = []): void {
  for (const c of where) {
    const type = columnType(schema, c.column);
    const expected = type === 'string' ? 'string' : type === 'bool' ? 'boolean' : 'number';
    if (typeof c.value !== expected) throw new Error(`Lua pushdown: condition on ${c.column} (${type}) needs a ${expected} value, got ${JSON.stringify(c.value)}`);
    if (type === 'string' && c.op !== '==' && c.op !== '!=') throw new Error(`Lua pushdown: '${c.op}' on the string column ${c.column} is not supported (Lua compares strings by the server's locale); use == or !=, or client mode`);
  }
}

const filter: LuaPushdown<FilterRequest, { count: number; rows?: Array<[Buffer, Buffer]> }> = {
  fn: 'copbench_filter',
  check(request) {
    checkConditions(request.schema, request.where);
    if (request.limit !== undefined && !(Number.isInteger(request.limit) && request.limit >= 0)) throw new Error(`filter: limit must be a non-negative integer, got ${request.limit}`);
  },
  decode(reply, request) {
    const [count, members] = reply as [number, Buffer[] | undefined];
    if (request.output === 'count') return { count };
    return { count, rows: (members ?? []).map((m) => {
      const row = decodeMember(m);
      return [row.key as Buffer, row.value as Buffer];
    }) };
  },
};


const utf8 = new TextDecoder();

const aggregate: LuaPushdown<AggregateRequest, Record<string, GroupState>> = {
  fn: 'copbench_aggregate',
  check(request) {
    const type = columnType(request.schema, request.column);
    if (type === 'string') throw new Error(`aggregate: column ${request.column} is a string, not a number`);
    if (request.groupBy !== undefined) {
      const groupType = columnType(request.schema, request.groupBy);
      if (request.groupModulo && groupType === 'string') throw new Error(`aggregate: groupModulo needs a numeric groupBy column; ${request.groupBy} is a string`);
    }
    checkConditions(request.schema, request.where);
  },
  decode(reply, request) {
    const groupType = request.groupBy === undefined ? undefined : columnType(request.schema, request.groupBy);
    // Numbers leave Lua as raw doubles; String() formats them as the plugin's String(group) does.
    const numeric = groupType !== undefined && (Boolean(request.groupModulo) || (groupType !== 'string' && groupType !== 'bool'));
    const out: Record<string, GroupState> = {};
    for (const [key, state] of reply as Array<[Buffer, Buffer]>) {
      const group = groupType === undefined ? '' : numeric ? String(key.readDoubleLE(0)) : utf8.decode(key);
      out[group] = { n: state.readDoubleLE(0), mean: state.readDoubleLE(8), m2: state.readDoubleLE(16), sum: state.readDoubleLE(24), min: state.readDoubleLE(32), max: state.readDoubleLE(40) };
    }
    return out;
  },
};

function checkNumeric(schema: Schema, column: string, role: string): void {
  const type = columnType(schema, column);
  if (type === 'string') throw new Error(`sgd: the ${role} ${column} is a string column, not a number`);
}

/**
 * Linear sgd is exact (only +, -, *); logistic calls exp and log1p, which Lua takes from the C
 * library and V8 from its own port of fdlibm, so logistic sums may differ in the last bits.
 */
const sgd: LuaPushdown<SgdRequest, SgdPartial> = {
  fn: 'copbench_sgd',
  check(request) {
    if (request.task !== 'linear' && request.task !== 'logistic') throw new Error(`sgd: task must be 'linear' or 'logistic', got ${JSON.stringify(request.task)}`);
    // The Lua twin computes the full-batch sums (with scaling; merge adds the L2 term): local SGD it does not.
    if (request.local !== undefined) throw new Error('sgd: local SGD (request.local, the local-sgd mode) has no Lua twin on Redis; leave local-sgd out (-p modes=pushdown,client,client-cached)');
    if (!Array.isArray(request.features) || request.features.length === 0) throw new Error('sgd: features must name at least one numeric column');
    if (!Array.isArray(request.weights) || request.weights.length !== request.features.length) throw new Error(`sgd: weights must have one number per feature (${request.features.length})`);
    for (const f of request.features) checkNumeric(request.schema, f, 'feature');
    if (request.labelWhere !== undefined) {
      if (request.task !== 'logistic') throw new Error('sgd: labelWhere defines a 0/1 label: it needs task logistic');
      checkConditions(request.schema, request.labelWhere);
    } else checkNumeric(request.schema, request.target, 'target');
  },
  decode(reply) {
    const bytes = reply as Buffer;
    const at = (i: number): number => bytes.readDoubleLE(8 * i);
    const d = bytes.length / 8 - 4;
    return { n: at(0), gradientBias: at(1), loss: at(2), correct: at(3), gradient: Array.from({ length: d }, (_, j) => at(4 + j)) };
  },
};

/** Plugin name → its Lua twin. */
export const LUA_PUSHDOWNS: ReadonlyMap<string, LuaPushdown<never, unknown>> = new Map<string, LuaPushdown<never, unknown>>([
  ['filter', filter as LuaPushdown<never, unknown>],
  ['aggregate', aggregate as LuaPushdown<never, unknown>],
  ['sgd', sgd as LuaPushdown<never, unknown>],
]);
