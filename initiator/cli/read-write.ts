/** `read` (blocks → file) and `write` (file → blocks). */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { connect } from '../index.js';
import { CONNECTION_USAGE, UsageError, connectOptionsFrom, connectionOptions, intArg, nsidArg, nsidOption, toJson } from './common.js';
import type { CliIo } from './common.js';

export const READ_USAGE = `Usage: nvmet-ts-initiator read -n NQN --nsid N --slba LBA --nlb COUNT --out FILE [options]

Read COUNT logical blocks starting at LBA into FILE (use - for stdout).

      --nsid N           namespace id (default 1)
      --slba LBA         first logical block (default 0)
      --nlb COUNT        number of logical blocks (a count, not 0's based)
      --out FILE         destination file

${CONNECTION_USAGE}`;

export const WRITE_USAGE = `Usage: nvmet-ts-initiator write -n NQN --nsid N --slba LBA --in FILE [options]

Write FILE at LBA; a partial last block is padded with zeroes.

      --nsid N           namespace id (default 1)
      --slba LBA         first logical block (default 0)
      --in FILE          source file
      --force-r2t        send data with R2T/H2CData even when it fits in-capsule

${CONNECTION_USAGE}`;

/** Where a read or write goes: the namespace and its first logical block. */
const addressOptions = {
  ...connectionOptions,
  ...nsidOption,
  slba: { type: 'string', default: '0' },
} as const;

export async function readCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...addressOptions,
      nlb: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    io.out(READ_USAGE);
    return 0;
  }
  const nsid = nsidArg(values.nsid);
  const slba = intArg(values.slba, 'slba');
  const nlb = intArg(values.nlb, 'nlb', 1);
  if (values.out === undefined) throw new UsageError('--out is required');
  const ctrl = await connect({ ...connectOptionsFrom(values), queues: 1 });
  try {
    const t0 = performance.now();
    const data = await ctrl.read(nsid, slba, nlb);
    const ms = performance.now() - t0;
    if (values.out === '-') process.stdout.write(data);
    else await writeFile(values.out, data);
    const summary = { nsid, slba, nlb, bytes: data.length, ms: Number(ms.toFixed(3)) };
    if (values.out !== '-') io.out(values.json ? toJson(summary) : `read ${data.length} bytes (${nlb} blocks at LBA ${slba}) in ${ms.toFixed(1)} ms -> ${values.out}`);
    return 0;
  } finally {
    await ctrl.close();
  }
}

export async function writeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...addressOptions,
      in: { type: 'string' },
      'force-r2t': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.out(WRITE_USAGE);
    return 0;
  }
  const nsid = nsidArg(values.nsid);
  const slba = intArg(values.slba, 'slba');
  if (values.in === undefined) throw new UsageError('--in is required');
  const file = await readFile(values.in);
  if (file.length === 0) throw new UsageError(`${values.in} is empty`);
  const ctrl = await connect({ ...connectOptionsFrom(values), queues: 1 });
  try {
    const g = await ctrl.geometry(nsid);
    const padded = Math.ceil(file.length / g.lbaSize) * g.lbaSize;
    const data = padded === file.length ? file : Buffer.concat([file, Buffer.alloc(padded - file.length)]);
    const t0 = performance.now();
    await ctrl.write(nsid, slba, data, { forceR2T: values['force-r2t'] === true });
    const ms = performance.now() - t0;
    const nlb = padded / g.lbaSize;
    const summary = { nsid, slba, nlb, bytes: padded, ms: Number(ms.toFixed(3)) };
    io.out(values.json ? toJson(summary) : `wrote ${padded} bytes (${nlb} blocks at LBA ${slba}) in ${ms.toFixed(1)} ms`);
    return 0;
  } finally {
    await ctrl.close();
  }
}
