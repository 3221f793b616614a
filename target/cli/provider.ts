/**
 * `nvmet-ts provider remove|add BDF`: hot-remove or hot-add a p2pmem provider of a
 * running target through its management API (POST /api/p2p/providers/:bdf/{remove,add}).
 */

import { parseArgs } from 'node:util';
import { REMOVAL_MODES, type RemovalMode } from '../../src/p2pdma/lifecycle.js';
import { DEFAULT_API_HOST, DEFAULT_API_PORT } from '../api/address.js';

export const PROVIDER_USAGE = `Usage: nvmet-ts provider remove [--mode dmabuf|pgmap] [--api ADDR:PORT] [--api-token T] BDF
       nvmet-ts provider add [--api ADDR:PORT] [--api-token T] BDF

Hot-remove a p2pmem provider of a running nvmet-ts (dmabuf: move_notify to the data path,
which re-chooses its provider and fails in-flight staged I/O retryably, then the provider
goes; pgmap: wait until every allocation is freed), or hot-add one back.

Options:
  --mode M          dmabuf (default) | pgmap
  --api ADDR:PORT   the target's management API (default 127.0.0.1:9420)
  --api-token T     bearer token (also NVMET_TS_API_TOKEN)
`;

interface Out {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function providerCommand(argv: string[], io: Out, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { mode: { type: 'string' }, api: { type: 'string' }, 'api-token': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    io.err(`nvmet-ts provider: ${(e as Error).message}\n\n${PROVIDER_USAGE}`);
    return 2;
  }
  if (args.values.help) {
    io.out(PROVIDER_USAGE);
    return 0;
  }
  const [action, bdf, ...rest] = args.positionals;
  if ((action !== 'remove' && action !== 'add') || bdf === undefined || rest.length > 0) {
    io.err(`nvmet-ts provider: expected "remove BDF" or "add BDF"\n\n${PROVIDER_USAGE}`);
    return 2;
  }
  const mode = args.values.mode ?? 'dmabuf';
  if (!(REMOVAL_MODES as readonly string[]).includes(mode) || (action === 'add' && args.values.mode !== undefined)) {
    io.err(`nvmet-ts provider: --mode must be one of ${REMOVAL_MODES.join(', ')} (remove only)\n`);
    return 2;
  }
  const api = args.values.api ?? `${DEFAULT_API_HOST}:${DEFAULT_API_PORT}`;
  const token = args.values['api-token'] ?? env['NVMET_TS_API_TOKEN'];
  const url = `http://${api}/api/p2p/providers/${encodeURIComponent(bdf)}/${action}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(action === 'remove' ? { mode: mode as RemovalMode } : {}), signal: AbortSignal.timeout(120_000) });
  } catch (e) {
    io.err(`nvmet-ts provider: cannot reach the API at ${api}: ${(e as Error).message}\n`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      /* not JSON */
    }
    io.err(`nvmet-ts provider ${action} ${bdf}: HTTP ${res.status}: ${msg}\n`);
    return 1;
  }
  const body = JSON.parse(text) as { ms?: number; mode?: string; ports?: { portid: number; provider: string | null; reason: string }[] };
  io.out(action === 'remove' ? `${bdf}: removed (${body.mode}) in ${body.ms?.toFixed(1)} ms\n` : `${bdf}: added\n`);
  for (const p of body.ports ?? []) io.out(`  port ${p.portid}: ${p.provider !== null ? `p2pmem ${p.provider}` : 'system memory'} — ${p.reason}\n`);
  return 0;
}
