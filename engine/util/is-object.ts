/** True for a plain object (a JSON object: not null, not an array), narrowed to a record. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
