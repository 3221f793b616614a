/**
 * nvmet-ts-initiator: command line NVMe/TCP host (discover, identify, read,
 * write, perf). Exit codes: 0 ok, 1 failure (NVMe status, transport), 2 usage.
 */
import { NvmeError, TimeoutError, TransportError } from '../errors.js';
import { UsageError, processIo } from './common.js';
import type { CliIo } from './common.js';
import { DISCOVER_USAGE, discoverCommand } from './discover.js';
import { IDENTIFY_USAGE, identifyCommand } from './identify.js';
import { READ_USAGE, WRITE_USAGE, readCommand, writeCommand } from './read-write.js';
import { PERF_USAGE, perfCommand } from './perf.js';

export type { CliIo } from './common.js';

const COMMANDS: Record<string, { run: (argv: string[], io: CliIo) => Promise<number>; usage: string; summary: string }> = {
  discover: { run: discoverCommand, usage: DISCOVER_USAGE, summary: 'read the Discovery Log Page' },
  identify: { run: identifyCommand, usage: IDENTIFY_USAGE, summary: 'Identify controller / namespace (pretty or --json)' },
  read: { run: readCommand, usage: READ_USAGE, summary: 'read logical blocks to a file' },
  write: { run: writeCommand, usage: WRITE_USAGE, summary: 'write a file to logical blocks' },
  perf: { run: perfCommand, usage: PERF_USAGE, summary: 'load generator: IOPS, MB/s, p50/p99 latency' },
};

export const USAGE = `Usage: nvmet-ts-initiator <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([k, v]) => `  ${k.padEnd(10)} ${v.summary}`)
  .join('\n')}

Run 'nvmet-ts-initiator <command> --help' for a command's options.`;

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(USAGE);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    io.err(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      io.err(`${name}: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    if (e instanceof NvmeError || e instanceof TransportError || e instanceof TimeoutError) {
      io.err(`${name}: ${e.message}`);
      return 1;
    }
    io.err(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
