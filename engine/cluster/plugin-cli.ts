/**
 * `npm run plugin -- <command>`: manage the plugins of a running cluster through its placement
 * service — deploy files, list what placement stores and what every node has loaded, undeploy a
 * version, and scaffold a new plugin file.
 *
 * The cluster is named by `--placement host:port` (or env COPBENCH_PLACEMENT) and admin commands use
 * `--admin-token` (or env COPBENCH_ADMIN_TOKEN); `npm run cluster` prints both as `export` lines.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RespConnection } from '../client/connection';
import { ClientError } from '../client/errors';
import { formatHelp, parseFlags, runCli, UsageError, type FlagTable } from '../cli/flags';
import { loadPluginSource, PluginLoadError } from '../coprocessor/loader';
import type { RespValue } from '../protocol/resp';
import { deployFile, listNodePlugins, pluginFiles, type NodePluginRow } from './plugin-deployer';
import { PLUGIN_NAME_PATTERN, pluginTemplate, workloadSpecTemplate } from './plugin-template';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const HOW_TO_CONNECT = 'start a cluster with npm run cluster, which prints both';

const CONNECTION_FLAGS = {
  placement: { type: 'string', help: 'placement service address (or env COPBENCH_PLACEMENT)', value: '<host:port>' },
  'admin-token': { type: 'string', help: "the cluster's admin token (or env COPBENCH_ADMIN_TOKEN)", value: '<token>' },
} as const;

const LIST_FLAGS = {
  nodes: { type: 'boolean', help: 'also show the state on every node' },
  json: { type: 'boolean', help: 'print JSON instead of a table' },
  placement: CONNECTION_FLAGS.placement,
} as const;

const NEW_FLAGS = {
  dir: { type: 'string', help: "directory to write into (default: this repository's plugins/)", value: '<dir>' },
  'spec-dir': { type: 'string', help: "directory to write the workload spec into (default: this repository's workloads/specs/)", value: '<dir>' },
} as const;

interface Command {
  usage: string;
  summary: string;
  description: string;
  flags: FlagTable;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  deploy: {
    usage: 'npm run plugin -- deploy <file|dir...> [--placement host:port] [--admin-token token]',
    summary: 'validate and install plugin files on every node (through placement)',
    description:
      'Sends each plugin file (every *.ts file of a directory) to the placement service, which validates it, stores it and installs it on every node (nodes that join later get it too).\nPrints `name@version sha256 nodes=N` per file, or the typed load error; exits 1 if any file failed.',
    flags: CONNECTION_FLAGS,
    run: deploy,
  },
  list: {
    usage: 'npm run plugin -- list [--nodes] [--json] [--placement host:port]',
    summary: 'deployed plugins (and, with --nodes, what every node has loaded)',
    description: "Lists the plugins placement stores (name, version, sha256, file). With --nodes, also asks every node (COPR.LIST) and shows each plugin's state per node: loaded, missing, stale (other code) or failed.",
    flags: LIST_FLAGS,
    run: list,
  },
  undeploy: {
    usage: 'npm run plugin -- undeploy <name@version> [--placement host:port] [--admin-token token]',
    summary: 'remove one plugin version from placement and every node',
    description: 'Removes name@version from the placement service and uninstalls it on every node.',
    flags: CONNECTION_FLAGS,
    run: undeploy,
  },
  new: {
    usage: 'npm run plugin -- new <name> [--dir plugins/] [--spec-dir workloads/specs/]',
    summary: 'scaffold plugins/<name>.ts and workloads/specs/<name>.json: a plugin and a runnable study of it',
    description: 'Writes <dir>/<name>.ts: a plugin that counts rows matching conditions on the sample dataset, with example requests; and <spec-dir>/<name>.json: a workload that runs it pushdown vs client (npm run workload <name>). Refuses to overwrite either file. Names are lower-case letters, digits and dashes, starting with a letter.',
    flags: NEW_FLAGS,
    run: scaffold,
  },
};

const MAIN_HELP = `Usage: npm run plugin -- <command> [options]

Manages the plugins of a running copbench cluster.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`)
  .join('\n')}

Connection: --placement host:port (env COPBENCH_PLACEMENT) and, for deploy/undeploy,
--admin-token (env COPBENCH_ADMIN_TOKEN); ${HOW_TO_CONNECT}.
Run 'npm run plugin -- <command> --help' for a command's options; --version prints copbench's version.
`;

// ---- connection ---------------------------------------------------------------------------------

function placementAddress(flag: string | undefined): { host: string; port: number } {
  const value = flag ?? process.env.COPBENCH_PLACEMENT;
  if (!value) throw new UsageError(`no placement address: pass --placement host:port or set COPBENCH_PLACEMENT (${HOW_TO_CONNECT})`);
  const at = value.lastIndexOf(':');
  const host = value.slice(0, at);
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !/^\d{1,5}$/.test(value.slice(at + 1)) || port < 1 || port > 65535) throw new UsageError(`placement address '${value}' is not host:port`);
  return { host, port };
}

function adminToken(flag: string | undefined): string {
  const token = flag ?? process.env.COPBENCH_ADMIN_TOKEN;
  if (!token) throw new UsageError(`this command needs the cluster's admin token: pass --admin-token or set COPBENCH_ADMIN_TOKEN (${HOW_TO_CONNECT})`);
  return token;
}

function connect(address: { host: string; port: number }, token?: string): RespConnection {
  return new RespConnection({ ...address, adminToken: token, connectTimeoutMs: 3000, requestTimeoutMs: 60_000 });
}

/** Turns connection and auth failures into messages that say what to do. */
function explain(err: unknown, where: string): Error {
  if (err instanceof ClientError) {
    if (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT') return new Error(`${err.message} — is the cluster running at ${where}? (${HOW_TO_CONNECT})`);
    if (err.serverCode === 'WRONGPASS') return new Error(`${err.message} — the admin token was refused (WRONGPASS); use the token npm run cluster printed`);
    if (err.serverCode === 'NOAUTH') return new Error(`${err.message} (NOAUTH)`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

async function withConnection<T>(address: { host: string; port: number }, token: string | undefined, use: (conn: RespConnection) => Promise<T>): Promise<T> {
  const conn = connect(address, token);
  try {
    return await use(conn);
  } catch (err) {
    throw explain(err, `${address.host}:${address.port}`);
  } finally {
    conn.close();
  }
}

const text = (v: RespValue): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

// ---- deploy / undeploy ----------------------------------------------------------------------------

async function deploy(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, CONNECTION_FLAGS);
  if (flags._.length === 0) throw new UsageError('deploy needs at least one plugin file');
  const files: string[] = [];
  for (const arg of flags._) {
    if (!existsSync(arg)) throw new UsageError(`no such file: ${arg}`);
    if (statSync(arg).isDirectory()) {
      const inside = pluginFiles(arg);
      if (inside.length === 0) throw new UsageError(`no plugin files (*.ts) in ${arg}`);
      files.push(...inside);
    } else files.push(arg);
  }
  const address = placementAddress(flags.placement);
  const token = adminToken(flags['admin-token']);
  let failed = 0;
  await withConnection(address, token, async (conn) => {
    for (const file of files) {
      const outcome = await deployFile(conn, file);
      if (outcome.ok) process.stdout.write(`${outcome.message}\n`);
      else {
        failed++;
        // A load error reads `CODE file: CODE: reason`: keep the code and the reason.
        process.stderr.write(`${file}: not deployed: ${outcome.message.replace(/^([A-Z_]+) \S+: \1: /, '$1: ').replace(/\s+/g, ' ')}\n`);
      }
    }
  });
  if (failed > 0) process.stderr.write(`${failed} of ${files.length} file(s) failed to deploy\n`);
  return failed > 0 ? 1 : 0;
}

async function undeploy(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, CONNECTION_FLAGS);
  if (flags._.length !== 1) throw new UsageError('undeploy needs exactly one name@version');
  const spec = flags._[0]!;
  const at = spec.lastIndexOf('@');
  if (at <= 0 || at === spec.length - 1) throw new UsageError(`'${spec}' is not name@version (e.g. filter@1.0.0)`);
  const address = placementAddress(flags.placement);
  const token = adminToken(flags['admin-token']);
  await withConnection(address, token, (conn) => conn.call(['PD.PLUGIN.UNDEPLOY', spec.slice(0, at), spec.slice(at + 1)]));
  process.stdout.write(`undeployed ${spec}\n`);
  return 0;
}

// ---- list -----------------------------------------------------------------------------------------

interface DeployedRow {
  name: string;
  version: string;
  sha256: string;
  file: string;
}

interface NodeListing {
  id: number;
  address: string;
  up: boolean;
  plugins?: NodePluginRow[];
  error?: string;
}

async function list(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, LIST_FLAGS);
  if (flags._.length > 0) throw new UsageError(`unexpected argument '${flags._[0]}'`);
  const address = placementAddress(flags.placement);
  const { deployed, nodes } = await withConnection(address, undefined, async (conn) => {
    const deployedRows = JSON.parse(text(await conn.call(['PD.PLUGIN.LIST']))) as DeployedRow[];
    deployedRows.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version, undefined, { numeric: true }));
    if (!flags.nodes) return { deployed: deployedRows, nodes: [] as NodeListing[] };
    const nodeInfo = JSON.parse(text(await conn.call(['PD.NODES']))) as Array<{ id: number; host: string; port: number; up: boolean }>;
    return { deployed: deployedRows, nodes: await Promise.all(nodeInfo.sort((a, b) => a.id - b.id).map(nodePlugins)) };
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(flags.nodes ? { deployed, nodes } : { deployed }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(deployed.length === 0 ? 'no plugins deployed\n' : table(deployedTable(deployed, nodes, flags.nodes === true)));
  if (flags.nodes) {
    // What a node reports that placement does not know: failed files and leftovers.
    const extra: string[][] = [];
    for (const node of nodes) {
      if (node.error) extra.push([`node ${node.id}`, node.address, 'unreachable', node.error]);
      for (const p of node.plugins ?? []) {
        if (p.state !== 'loaded') extra.push([`node ${node.id}`, p.file, p.state, p.error]);
        else if (!deployed.some((d) => d.name === p.name && d.version === p.version)) extra.push([`node ${node.id}`, p.file, 'not deployed', `${p.name}@${p.version} ${p.sha256.slice(0, 12)}`]);
      }
    }
    if (extra.length > 0) process.stdout.write(`\n${table([['NODE', 'FILE', 'STATE', 'DETAIL'], ...extra])}`);
  }
  return 0;
}

async function nodePlugins(node: { id: number; host: string; port: number; up: boolean }): Promise<NodeListing> {
  const listing: NodeListing = { id: node.id, address: `${node.host}:${node.port}`, up: node.up };
  const conn = new RespConnection({ host: node.host, port: node.port, connectTimeoutMs: 2000, requestTimeoutMs: 5000 });
  try {
    listing.plugins = await listNodePlugins(conn);
  } catch (err) {
    listing.error = (err as Error).message;
  } finally {
    conn.close();
  }
  return listing;
}

function deployedTable(deployed: DeployedRow[], nodes: NodeListing[], perNode: boolean): string[][] {
  const header = ['NAME', 'VERSION', 'SHA256', 'FILE'];
  if (perNode) header.push(...nodes.map((n) => `NODE ${n.id}`));
  const rows = deployed.map((d) => {
    const row = [d.name, d.version, d.sha256.slice(0, 12), d.file];
    if (perNode) {
      for (const n of nodes) {
        if (!n.plugins) row.push(n.up ? 'unreachable' : 'down');
        else {
          const there = n.plugins.find((p) => p.state === 'loaded' && p.name === d.name && p.version === d.version);
          row.push(!there ? 'missing' : there.sha256 === d.sha256 ? 'loaded' : `stale ${there.sha256.slice(0, 8)}`);
        }
      }
    }
    return row;
  });
  return [header, ...rows];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

// ---- new ------------------------------------------------------------------------------------------

async function scaffold(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, NEW_FLAGS);
  if (flags._.length !== 1) throw new UsageError('new needs exactly one plugin name');
  const name = flags._[0]!;
  if (!PLUGIN_NAME_PATTERN.test(name)) throw new UsageError(`invalid plugin name '${name}': use lower-case letters, digits and dashes, starting with a letter (e.g. count-big-orders)`);
  const dir = flags.dir ?? path.join(REPO_ROOT, 'plugins');
  const file = path.join(dir, `${name}.ts`);
  const specFile = path.join(flags['spec-dir'] ?? path.join(REPO_ROOT, 'workloads', 'specs'), `${name}.json`);
  for (const f of [file, specFile]) if (existsSync(f)) throw new Error(`${f} already exists; not overwriting it (pick another name or delete the file)`);
  // Another file already providing this name would make the new one a DUPLICATE at deploy.
  for (const other of pluginFiles(dir)) {
    try {
      const loaded = loadPluginSource(readFileSync(other, 'utf8'), path.basename(other));
      if (loaded.artifact.name === name) throw new Error(`${other} already defines a plugin named '${name}'; pick another name`);
    } catch (err) {
      if (!(err instanceof PluginLoadError)) throw err;
    }
  }
  const source = pluginTemplate(name);
  loadPluginSource(source, `${name}.ts`); // the template must always load; fail loudly here if not
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, source, { flag: 'wx' });
  mkdirSync(path.dirname(specFile), { recursive: true });
  // The schema as editors resolve `$schema`: relative to the spec's own folder, wherever that is.
  const schemaRef = path.relative(path.dirname(specFile), path.join(REPO_ROOT, 'workloads', 'spec.schema.json')).split(path.sep).join('/');
  writeFileSync(specFile, workloadSpecTemplate(name, schemaRef.startsWith('.') ? schemaRef : `./${schemaRef}`), { flag: 'wx' });
  // `npm run` starts scripts in the package's folder: show paths relative to the caller's folder.
  const callerDir = process.env.INIT_CWD ?? process.cwd();
  const shown = path.relative(callerDir, file) || file;
  const specShown = path.relative(callerDir, specFile) || specFile;
  const runArg = path.dirname(specFile) === path.join(REPO_ROOT, 'workloads', 'specs') ? name : specShown;
  process.stdout.write(
    `created ${shown} (${name}@1.0.0: counts rows matching conditions; edit handle/merge/examples)\n` +
      `created ${specShown} (a workload: sweeps the predicate's threshold, pushdown vs client vs adaptive)\n` +
      `next: npm run workload ${runArg} -- --size ci   (about 15 s; then open the report.html it prints)\n` +
      `      npm test (the conformance suite runs the examples in both modes)\n`,
  );
  return 0;
}

// ---- main -----------------------------------------------------------------------------------------

runCli(async () => {
  const [commandName, ...rest] = process.argv.slice(2);
  if (commandName === undefined || commandName === '--help' || commandName === '-h' || commandName === 'help') {
    process.stdout.write(MAIN_HELP);
    if (commandName === undefined) process.exitCode = 2;
    return;
  }
  const command = Object.hasOwn(COMMANDS, commandName) ? COMMANDS[commandName] : undefined;
  if (!command) throw new UsageError(`unknown command '${commandName}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(formatHelp(command.usage, command.description, command.flags));
    return;
  }
  try {
    process.exitCode = await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${commandName}: ${err.message}`);
    throw err;
  }
}, () => {
  // The help of the command the arguments name, else the list of commands.
  const name = process.argv[2];
  const command = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  return command ? formatHelp(command.usage, command.description, command.flags) : MAIN_HELP;
});
