/**
 * Shared CLI plumbing: connection options every subcommand takes, output
 * sinks (injectable for tests), JSON that survives bigint/bytes, usage errors.
 */
import type { ParseArgsConfig } from 'node:util';
import type { ConnectOptions } from '../options.js';

/** Where the CLI writes; tests pass collectors, the launcher passes process streams. */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
}

export const processIo: CliIo = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

/** A bad command line: printed with the subcommand's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options shared by every subcommand that talks to a target. */
export const connectionOptions = {
  traddr: { type: 'string', short: 'a', default: '127.0.0.1' },
  trsvcid: { type: 'string', short: 's', default: '4420' },
  nqn: { type: 'string', short: 'n' },
  hostnqn: { type: 'string', short: 'q' },
  hostid: { type: 'string', short: 'I' },
  hdgst: { type: 'boolean', default: false },
  ddgst: { type: 'boolean', default: false },
  'timeout-ms': { type: 'string', default: '30000' },
  json: { type: 'boolean', short: 'o', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

/** --nsid, for subcommands that address one namespace (default 1). */
export const nsidOption = {
  nsid: { type: 'string', default: '1' },
} as const satisfies Options;

/** A namespace id a command may address: 1..FFFFFFFEh (FFFFFFFFh is the broadcast NSID). */
export function nsidArg(v: string | undefined): number {
  return intArg(v, 'nsid', 1, 0xffff_fffe);
}

export const CONNECTION_USAGE = `Connection options:
  -a, --traddr ADDR      target address (default 127.0.0.1)
  -s, --trsvcid PORT     target TCP port (default 4420)
  -n, --nqn NQN          subsystem NQN
  -q, --hostnqn NQN      host NQN (default nqn.2014-08.org.nvmexpress:uuid:<hostid>)
  -I, --hostid UUID      host identifier
      --hdgst            enable header digests
      --ddgst            enable data digests
      --timeout-ms MS    per-command timeout (default 30000)
  -o, --json             machine-readable output
  -h, --help             this help`;

export interface ConnectionValues {
  traddr?: string | undefined;
  trsvcid?: string | undefined;
  nqn?: string | undefined;
  hostnqn?: string | undefined;
  hostid?: string | undefined;
  hdgst?: boolean | undefined;
  ddgst?: boolean | undefined;
  'timeout-ms'?: string | undefined;
}

export function intArg(v: string | undefined, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) throw new UsageError(`--${name} is required`);
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got "${v}"`);
  return n;
}

/** Build connect() options from parsed values; `subnqn` required unless given. */
export function connectOptionsFrom(v: ConnectionValues, subnqn?: string): ConnectOptions {
  const nqn = subnqn ?? v.nqn;
  if (nqn === undefined || nqn === '') throw new UsageError('--nqn is required');
  const o: ConnectOptions = {
    host: v.traddr ?? '127.0.0.1',
    port: intArg(v.trsvcid, 'trsvcid', 1, 65535),
    subnqn: nqn,
    hdgst: v.hdgst === true,
    ddgst: v.ddgst === true,
    commandTimeoutMs: intArg(v['timeout-ms'], 'timeout-ms', 1),
  };
  if (v.hostnqn !== undefined) o.hostnqn = v.hostnqn;
  if (v.hostid !== undefined) o.hostid = v.hostid;
  return o;
}

/** JSON.stringify that renders bigint as decimal strings and bytes as hex. */
export function toJson(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x: unknown) => {
      if (typeof x === 'bigint') return x.toString();
      if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
      return x;
    },
    2,
  );
}

export function hex(n: number | bigint, width = 0): string {
  return `0x${n.toString(16).padStart(width, '0')}`;
}
