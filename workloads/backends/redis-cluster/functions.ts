/**
 * The Lua library (functions/copbench.lua) installed on every primary with FUNCTION LOAD REPLACE,
 * so every node runs the same code; its sha256 goes in the run's manifest as a plugin's does.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RedisClusterClient } from './cluster-client';

export const FUNCTIONS_FILE = path.join(__dirname, 'functions', 'copbench.lua');

export interface LoadedFunctions {
  library: string;
  sha256: string;
  /** The primaries it was loaded on. */
  nodes: string[];
}

/** Loads (or replaces) the library on every primary. */
export async function loadFunctions(client: RedisClusterClient, file = FUNCTIONS_FILE): Promise<LoadedFunctions> {
  const source = readFileSync(file, 'utf8');
  const library = /^#!lua name=(\S+)/.exec(source)?.[1];
  if (!library) throw new Error(`${file}: a Redis Functions library starts with '#!lua name=<library>'`);
  const nodes = client.primaries.map((p) => p.address);
  await Promise.all(nodes.map((address) => client.callNode(address, ['FUNCTION', 'LOAD', 'REPLACE', source])));
  return { library, sha256: createHash('sha256').update(source).digest('hex'), nodes };
}
