/**
 * Turns plugin source (one TypeScript file) into a validated plugin: compile with swc, evaluate
 * with a `require` that only resolves the plugin API, check the default export. Every failure is a
 * typed PluginLoadError naming the file and the reason; nothing here throws anything else.
 */
import { createHash } from 'node:crypto';
import semver from 'semver';
import * as pluginApi from '../plugin-api';
import { API_VERSION, type Plugin } from '../plugin-api';
import { transpileCached } from '../runtime/transpile-cache';

export type PluginLoadErrorCode =
  | 'SYNTAX' // the file does not compile
  | 'NO_DEFAULT_EXPORT' // no `export default definePlugin(...)`
  | 'INVALID_NAME'
  | 'INVALID_VERSION'
  | 'API_MISMATCH' // apiVersion is not the one this host implements
  | 'DUPLICATE' // another file already provides name@version
  | 'FORBIDDEN_IMPORT' // imports something other than the plugin API
  | 'LOAD_FAILED' // top-level code threw
  | 'TOO_LARGE';

export class PluginLoadError extends Error {
  constructor(
    readonly code: PluginLoadErrorCode,
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${code}: ${reason}`);
    this.name = 'PluginLoadError';
  }
}

/** Plugin source as deployed: what the placement service stores and every node installs. */
export interface PluginArtifact {
  name: string;
  version: string;
  sha256: string;
  /** TypeScript source as written. */
  source: string;
  /** Where it came from (file name), for messages. */
  file: string;
}

/** A plugin ready to run: its artifact, compiled JavaScript, and the evaluated definition. */
export interface LoadedPlugin {
  artifact: PluginArtifact;
  /** CommonJS JavaScript, evaluated the same way in-node (workers) and client-side. */
  js: string;
  plugin: Plugin;
}

export const MAX_PLUGIN_SOURCE_BYTES = 1024 * 1024;
const NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** TypeScript → CommonJS JavaScript (cached on disk: this process loads swc only for a source it has not seen). */
export function compilePlugin(source: string, file: string): string {
  if (Buffer.byteLength(source) > MAX_PLUGIN_SOURCE_BYTES) throw new PluginLoadError('TOO_LARGE', file, `source is over ${MAX_PLUGIN_SOURCE_BYTES} bytes`);
  try {
    return transpileCached(source, {
      filename: file.endsWith('.ts') ? file : `${file}.ts`,
      swcrc: false,
      configFile: false,
      sourceMaps: false,
      module: { type: 'commonjs', ignoreDynamic: true },
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
    });
  } catch (err) {
    throw new PluginLoadError('SYNTAX', file, firstLines(String((err as Error).message ?? err), 6));
  }
}

/** Resolves a plugin's imports: the plugin API under any relative path or `copbench/plugin-api`. */
function pluginRequire(file: string) {
  return (specifier: string): unknown => {
    if (/(^|\/)plugin-api(\.ts|\.js)?$/.test(specifier)) return pluginApi;
    throw new PluginLoadError('FORBIDDEN_IMPORT', file, `imports '${specifier}'; plugins may import only the plugin API (engine/plugin-api)`);
  };
}

/** Evaluates compiled plugin JavaScript and returns its default export, validated. */
export function evaluatePlugin(js: string, file: string): Plugin {
  const module = { exports: {} as Record<string, unknown> };
  try {
    // Plugins are trusted code run with limits (see README, threat model): this is module
    // scoping and import control, not a security sandbox.
    const factory = new Function('module', 'exports', 'require', js) as (m: unknown, e: unknown, r: unknown) => void;
    factory(module, module.exports, pluginRequire(file));
  } catch (err) {
    if (err instanceof PluginLoadError) throw err;
    throw new PluginLoadError('LOAD_FAILED', file, `top-level code threw: ${(err as Error)?.message ?? String(err)}`);
  }
  const exported = (module.exports.default ?? undefined) as Partial<Plugin> | undefined;
  if (!exported || typeof exported !== 'object') throw new PluginLoadError('NO_DEFAULT_EXPORT', file, 'expected `export default definePlugin({...})`');
  if (typeof exported.handle !== 'function' || typeof exported.merge !== 'function') {
    throw new PluginLoadError('NO_DEFAULT_EXPORT', file, 'the default export needs handle(request, ctx) and merge(parts, request) functions');
  }
  if (typeof exported.name !== 'string' || !NAME_PATTERN.test(exported.name)) {
    throw new PluginLoadError('INVALID_NAME', file, `name ${JSON.stringify(exported.name)} must be lower-case letters, digits and dashes, starting with a letter`);
  }
  if (typeof exported.version !== 'string' || semver.valid(exported.version) === null) {
    throw new PluginLoadError('INVALID_VERSION', file, `version ${JSON.stringify(exported.version)} is not a semantic version (MAJOR.MINOR.PATCH)`);
  }
  if (exported.apiVersion !== API_VERSION) {
    throw new PluginLoadError('API_MISMATCH', file, `apiVersion ${JSON.stringify(exported.apiVersion)} is not supported; this host implements apiVersion ${API_VERSION}`);
  }
  return exported as Plugin;
}

/** Source → loaded plugin (compile, evaluate, validate). */
export function loadPluginSource(source: string, file: string): LoadedPlugin {
  const js = compilePlugin(source, file);
  const plugin = evaluatePlugin(js, file);
  return { artifact: { name: plugin.name, version: plugin.version, sha256: sha256(source), source, file }, js, plugin };
}

function firstLines(text: string, n: number): string {
  return text.split('\n').filter((l) => l.trim().length > 0).slice(0, n).join('\n');
}
