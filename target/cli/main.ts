/**
 * `nvmet-ts`: run the target. Without --config it runs the built-in default
 * configuration (config/default.json): one subsystem with two RAM namespaces
 * and one TCP port on 127.0.0.1:4420.
 */

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, defaultConfigPath, packageRoot, formatIssue } from '../config/index.js';
import { resolveConfig } from '../config/resolve.js';
import { NvmetService } from '../service.js';
import { createLogger, isLogLevel, type LogFormat } from './logger.js';

const USAGE = `Usage: nvmet-ts [options]

Runs a userspace NVMe-over-TCP target (with emulated PCIe p2pdma staging).

Options:
  -c, --config FILE       nvmetcli-compatible JSON configuration (default: built-in
                          config/default.json: subsystem nqn.2014-08.org.nvmexpress:nvmet-ts,
                          two RAM namespaces, TCP port 127.0.0.1:4420)
  -l, --listen ADDR:PORT  override the address of every TCP port (default from the config;
                          the built-in config uses 127.0.0.1:4420)
      --allow-p2pmem      set the allow_p2pmem port option on every port: stage I/O in
                          p2pmem of a provider compatible with the NIC and all namespaces
      --log-level LEVEL   debug | info | warn | error | silent (default info)
      --log-format FMT    text | json (default text)
  -h, --help              show this help
  -V, --version           print the version
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** "127.0.0.1:4420", "[::1]:4420" → address and service id. */
export function parseListen(s: string): { traddr: string; trsvcid: string } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--listen expects ADDR:PORT (e.g. 127.0.0.1:4420), got "${s}"`);
  return { traddr: (m[1] ?? m[2])!, trsvcid: String(port) };
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string', short: 'l' },
        'allow-p2pmem': { type: 'boolean' },
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
  const level = o['log-level'] ?? 'info';
  if (!isLogLevel(level)) {
    process.stderr.write(`nvmet-ts: --log-level must be debug, info, warn, error or silent\n`);
    return 2;
  }
  const format = o['log-format'] ?? 'text';
  if (format !== 'text' && format !== 'json') {
    process.stderr.write(`nvmet-ts: --log-format must be text or json\n`);
    return 2;
  }
  const logger = createLogger(level, format as LogFormat);

  let listen;
  try {
    listen = o.listen === undefined ? undefined : parseListen(o.listen);
  } catch (e) {
    process.stderr.write(`nvmet-ts: ${(e as Error).message}\n`);
    return 2;
  }

  const configPath = o.config ?? defaultConfigPath();
  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`nvmet-ts: ${configPath}: invalid configuration\n`);
    for (const e of loaded.errors) process.stderr.write(`  ${formatIssue(e)}\n`);
    return 1;
  }
  for (const w of loaded.warnings) logger.warn(`${configPath}: ${formatIssue(w)}`);
  const config = resolveConfig(loaded.config, loaded.baseDir);

  const svc = await NvmetService.start({
    config,
    logger,
    ...(listen ? { listen } : {}),
    ...(o['allow-p2pmem'] ? { allowP2pmem: true } : {}),
  });
  process.stdout.write(`nvmet-ts ${version()} running (${o.config === undefined ? 'built-in default configuration' : configPath})\n${svc.summary()}\n`);

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
  await svc.stop();
  logger.info('stopped');
  return 0;
}
