/**
 * `nvmet-ts`: run the target, or one of its offline subcommands (topology, check).
 * Without --config it runs the built-in default configuration (config/default.json):
 * one subsystem with two RAM namespaces and one TCP port on 127.0.0.1:4420, with the
 * management API on 127.0.0.1:9420.
 */

import { activeFaults } from '../fault/env.js';
import { faultEngine } from '../fault/index.js';
import { cliFaultRules } from './fault-rules.js';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, defaultConfigPath, packageRoot, formatIssue } from '../config/index.js';
import type { NvmetService } from '../service/index.js';
import type { ApiServer } from '../api/server.js';
import { DEFAULT_API_HOST, DEFAULT_API_PORT } from '../api/address.js';
import { isLoopback } from '../config/listen-policy.js';
import { isP2pPolicy, P2P_POLICY_NAMES, DEFAULT_POLICY, describePolicyNames } from '../../src/p2pdma/policy.js';
import { createLogger, isLogLevel, type LogFormat } from '../core/log.js';
import { checkCommand } from './check.js';
import { MAX_REACTORS } from '../reactor/protocol.js';
import { BackingPathPolicy, DEFAULT_DATA_DIR } from '../backend/path-policy.js';
import { topologyCommand } from './topology.js';
import { providerCommand } from './provider.js';

const USAGE = `Usage: nvmet-ts [options]
       nvmet-ts topology [--policy P] [--json] FILE
       nvmet-ts check [--json] FILE
       nvmet-ts provider remove|add [--mode dmabuf|pgmap] [--api ADDR:PORT] BDF

Runs a userspace NVMe-over-TCP target (with emulated PCIe p2pdma staging) and its
management API.

Options:
  -c, --config FILE       nvmetcli-compatible JSON configuration (default: built-in
                          config/default.json: subsystem nqn.2014-08.org.nvmexpress:nvmet-ts,
                          two RAM namespaces, TCP port 127.0.0.1:4420)
  -l, --listen ADDR:PORT  override the address of every TCP port of the configuration
      --api ADDR:PORT     management API address (default ${DEFAULT_API_HOST}:${DEFAULT_API_PORT}; port 0 = any)
      --no-api            do not start the management API
      --reactors N        serve NVMe/TCP connections on N event loops: the main
                          thread and N-1 reactor threads that run Read/Write on
                          shared RAM media and forward every other command to the
                          main thread (default 1; README "Reactors")
      --api-token-file F  read the bearer token the API requires from file F (first
                          line); or set NVMET_TS_API_TOKEN. Mandatory when --api is
                          not a loopback address
      --api-token TOKEN   the token on the command line (visible to every local user
                          in /proc; prefer --api-token-file or the environment)
      --api-allow-host H  accept requests whose Host header is H (repeatable; the
                          bound address and, on loopback, localhost always are)
      --data-dir DIR      directory file-backed namespaces must live in (default
                          ./${DEFAULT_DATA_DIR}, created 0700 on first use)
      --allow-path DIR    also allow backing files under DIR (repeatable); files
                          named in --config are the operator's own and always allowed
      --allow-listen ADDR let ports created over the API listen on ADDR (repeatable,
                          "*" = any); loopback and the --config addresses always may
      --allow-p2pmem      set the allow_p2pmem port option on every port: stage I/O in
                          p2pmem of a provider compatible with the NIC and all namespaces
      --policy P          p2pdma distance policy: ${describePolicyNames()}
                          (default ${DEFAULT_POLICY})
      --fault-rule JSON   add a fault injection rule at start (repeatable; see README
                          "Fault and latency injection"); live rules: /api/faults
      --fault-rules FILE  add the fault rules of FILE (a JSON array) at start
      --discovery-nqn NQN unique discovery NQN (TP8013, like configfs discovery_nqn);
                          the well-known nqn.2014-08.org.nvmexpress.discovery still works
      --save FILE         write the running configuration to FILE on exit (and on
                          POST /api/save; without it, /api/save writes --config FILE)
      --log-level LEVEL   debug | info | warn | error | silent (default info)
      --log-format FMT    text | json (default text)
  -h, --help              show this help
  -V, --version           print the version

Subcommands:
  topology FILE           render the PCIe tree of a topology or configuration file and
                          every p2pmem provider decision with its reasoning
  check FILE              validate a configuration; errors name the JSON path at fault
  provider remove|add BDF hot-remove (dmabuf move_notify, or pgmap drain) or hot-add a p2pmem
                          provider of a running target through its API
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** "127.0.0.1:4420", "[::1]:4420" → address and service id. */
export function parseListen(s: string, flag = '--listen'): { traddr: string; trsvcid: string } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`${flag} expects ADDR:PORT (e.g. 127.0.0.1:4420), got "${s}"`);
  return { traddr: (m[1] ?? m[2])!, trsvcid: String(port) };
}

/**
 * The API token: --api-token-file (first line), else --api-token, else
 * NVMET_TS_API_TOKEN (an explicit flag beats an inherited environment).
 */
export function readToken(arg: string | undefined, file: string | undefined, env: string | undefined): string | undefined {
  if (file !== undefined && arg !== undefined) throw new Error('give the API token one way: --api-token-file or --api-token');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`--api-token-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const t = (text.split(/\r?\n/)[0] ?? '').trim();
    if (t === '') throw new Error(`--api-token-file ${file}: the file is empty`);
    if (/\s/.test(t)) throw new Error(`--api-token-file ${file}: the token must not contain whitespace`);
    return t;
  }
  if (arg !== undefined) return arg;
  return env !== undefined && env !== '' ? env : undefined;
}

const stdio = {
  out: (s: string): void => void process.stdout.write(s),
  err: (s: string): void => void process.stderr.write(s),
};

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'topology') return topologyCommand(argv.slice(1), stdio);
  if (argv[0] === 'check') return checkCommand(argv.slice(1), stdio);
  if (argv[0] === 'provider') return providerCommand(argv.slice(1), stdio);
  if (argv[0] === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }

  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string', short: 'l' },
        api: { type: 'string' },
        'no-api': { type: 'boolean' },
        'api-token': { type: 'string' },
        'api-token-file': { type: 'string' },
        'api-allow-host': { type: 'string', multiple: true },
        'data-dir': { type: 'string' },
        'allow-path': { type: 'string', multiple: true },
        'allow-listen': { type: 'string', multiple: true },
        'allow-p2pmem': { type: 'boolean' },
        policy: { type: 'string' },
        save: { type: 'string' },
        'fault-rule': { type: 'string', multiple: true },
        'fault-rules': { type: 'string' },
        'discovery-nqn': { type: 'string' },
        reactors: { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    });
  } catch (e) {
    process.stderr.write(`nvmet-ts: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const o = args.values;
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (o.version) {
    process.stdout.write(`nvmet-ts ${version()}\n`);
    return 0;
  }
  const usageError = (msg: string): number => {
    process.stderr.write(`nvmet-ts: ${msg}\n`);
    return 2;
  };
  const level = o['log-level'] ?? 'info';
  if (!isLogLevel(level)) return usageError('--log-level must be debug, info, warn, error or silent');
  const format = o['log-format'] ?? 'text';
  if (format !== 'text' && format !== 'json') return usageError('--log-format must be text or json');
  const policy = o.policy ?? DEFAULT_POLICY;
  if (!isP2pPolicy(policy)) return usageError(`--policy must be one of ${P2P_POLICY_NAMES.join(', ')}`);
  const logger = createLogger(level, format as LogFormat);

  let listen;
  let api: { traddr: string; trsvcid: string } | null;
  try {
    listen = o.listen === undefined ? undefined : parseListen(o.listen);
    api = o['no-api'] ? null : parseListen(o.api ?? `${DEFAULT_API_HOST}:${DEFAULT_API_PORT}`, '--api');
  } catch (e) {
    return usageError((e as Error).message);
  }
  let token: string | undefined;
  try {
    token = readToken(o['api-token'], o['api-token-file'], process.env['NVMET_TS_API_TOKEN']);
  } catch (e) {
    return usageError((e as Error).message);
  }
  let paths: BackingPathPolicy;
  try {
    paths = new BackingPathPolicy({ ...(o['data-dir'] !== undefined ? { dataDir: o['data-dir'] } : {}), allowPaths: o['allow-path'] ?? [] });
  } catch (e) {
    return usageError(`--data-dir/--allow-path: ${(e as Error).message}`);
  }
  if (api !== null && !isLoopback(api.traddr) && (token === undefined || token === '')) {
    return usageError(`--api ${api.traddr} is not a loopback address: set --api-token (or NVMET_TS_API_TOKEN) to expose the management API`);
  }

  let reactors = 1;
  if (o.reactors !== undefined) {
    reactors = /^[0-9]+$/.test(o.reactors) ? Number(o.reactors) : NaN;
    if (!Number.isInteger(reactors) || reactors < 1 || reactors > MAX_REACTORS) return usageError(`--reactors must be an integer 1..${MAX_REACTORS}`);
  }

  const faultRules = cliFaultRules(o['fault-rule'] ?? [], o['fault-rules']);
  if (!faultRules.ok) return usageError(faultRules.error);

  const configPath = o.config ?? defaultConfigPath();
  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`nvmet-ts: ${configPath}: invalid configuration\n`);
    for (const e of loaded.errors) process.stderr.write(`  ${formatIssue(e)}\n`);
    return 1;
  }
  for (const w of loaded.warnings) logger.warn(`${configPath}: ${formatIssue(w)}`);
  const ref = loaded.config.topology;
  const topologyDocument = ref?.kind === 'file' && loaded.topology ? { file: ref.path, value: loaded.topology.document } : undefined;

  let svc: NvmetService;
  try {
    // Loaded only to run: usage errors and the offline subcommands start without it.
    const { NvmetService } = await import('../service/index.js');
    svc = await NvmetService.start({
      config: loaded.config,
      baseDir: loaded.baseDir,
      logger,
      policy,
      paths,
      allowListen: o['allow-listen'] ?? [],
      ...(topologyDocument ? { topologyDocument } : {}),
      ...(listen ? { listen } : {}),
      ...(o['allow-p2pmem'] ? { allowP2pmem: true } : {}),
      ...(o.save !== undefined ? { savePath: o.save } : o.config !== undefined ? { savePath: o.config } : {}),
      ...(o['discovery-nqn'] !== undefined ? { discoveryNqn: o['discovery-nqn'] } : {}),
      ...(reactors > 1 ? { reactors } : {}),
    });
  } catch (e) {
    process.stderr.write(`nvmet-ts: cannot start: ${(e as Error).message}\n`);
    return 1;
  }

  try {
    for (const r of faultRules.rules) faultEngine(svc.nvmet).add(r, 'cli');
  } catch (e) {
    await svc.stop();
    return usageError((e as Error).message);
  }

  let server: ApiServer | null = null;
  if (api !== null) {
    try {
      const { startApi } = await import('../api/server.js');
      server = await startApi(svc, {
        host: api.traddr,
        port: Number(api.trsvcid),
        ...(token ? { token } : {}),
        ...(o['api-allow-host'] ? { allowedHosts: o['api-allow-host'] } : {}),
        version: version(),
      });
    } catch (e) {
      process.stderr.write(`nvmet-ts: cannot start the management API on ${o.api ?? `${DEFAULT_API_HOST}:${DEFAULT_API_PORT}`}: ${(e as Error).message}\n`);
      await svc.stop();
      return 1;
    }
  }

  const head = [
    `nvmet-ts ${version()} running (${o.config === undefined ? 'built-in default configuration' : configPath})`,
    server ? `api: ${server.url}${token ? ' (bearer token required)' : ''}` : 'api: off',
  ];
  if (reactors > 1) {
    head.push(
      `event loops: ${reactors} (the main thread + ${reactors - 1} reactor thread${reactors > 2 ? 's' : ''}; Read/Write on shared RAM media run where the connection is, every other command on the main thread; TLS and allow_p2pmem ports stay on the main thread)`,
    );
  }
  process.stdout.write(`${head.join('\n')}\n${svc.summary()}\n`);
  const faults = activeFaults();
  if (faults.length > 0) logger.warn(`test-only fault injection active (NVMET_TS_FAULT): ${faults.join(', ')}`);

  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      logger.info(`${sig}: shutting down`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve();
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });

  let code = 0;
  if (server) await server.close().catch((e: unknown) => logger.error(`api close: ${String(e)}`));
  if (o.save !== undefined) {
    try {
      const path = await svc.save(o.save);
      logger.info(`configuration saved to ${path}`);
    } catch (e) {
      logger.error(`--save ${o.save}: ${(e as Error).message}`);
      code = 1;
    }
  }
  await svc.stop();
  // Issue 5 item 8: what the data path did (ports, providers, root complex / DRAM / link bytes).
  if (svc.dp !== null) process.stdout.write(`${svc.dp.summary()}\n`);
  logger.info('stopped');
  return code;
}
