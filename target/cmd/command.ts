/**
 * What a command handler provides to the dispatcher: one `Command` per spec
 * command, keyed by opcode (or FCTYPE) in its command set's table. Adding a
 * command is a handler file exporting a `Command` plus one table line in
 * `<set>/commands.ts`.
 */

import type { ExecuteFn, Request } from '../core/request.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';

/**
 * Command-specific parsing (the `parse` half of Linux's nvmet_parse_*_cmd arms):
 * check what can be checked before data moves, set `dataDir`/`transferLen` (and
 * `offset`/`length` for media commands). Returns an NVMe status, 0 = accepted.
 * `req.executeFn` is already the entry's `execute`; a parser may replace it.
 */
export type ParseFn = (req: Request) => number;

export interface Command {
  /** The spec's name of the command ("Identify", "Get Log Page", "Connect"...). */
  readonly name: string;
  /** Absent: the command moves no data and has nothing to check before it runs. */
  readonly parse?: ParseFn;
  readonly execute: ExecuteFn;
}

/** Opcode (or FCTYPE) → command; an index into a dense array, no hashing on the hot path. */
export type CommandTable = readonly (Command | undefined)[];

/** Build a table from `[opcode, command]` pairs; a duplicate opcode is a programming error. */
export function commandTable(entries: readonly (readonly [number, Command])[]): CommandTable {
  const t: (Command | undefined)[] = new Array<Command | undefined>(256).fill(undefined);
  for (const [op, cmd] of entries) {
    if (!Number.isInteger(op) || op < 0 || op > 255) throw new RangeError(`opcode ${op} out of range`);
    if (t[op] !== undefined) throw new Error(`opcode 0x${op.toString(16)} is both ${t[op]!.name} and ${cmd.name}`);
    t[op] = cmd;
  }
  return t;
}

/**
 * Give `req` the command `table[key]`: its execute, then its parse. An unknown key
 * is Invalid Opcode with `errorLoc` pointing at the field that held it (opcode or FCTYPE).
 */
export function dispatchFrom(table: CommandTable, key: number, errorLoc: number, req: Request): number {
  const cmd = table[key];
  if (cmd === undefined) {
    req.errorLoc = errorLoc;
    return NvmeStatus.InvalidOpcode | STATUS_DNR;
  }
  req.executeFn = cmd.execute;
  return cmd.parse === undefined ? 0 : cmd.parse(req);
}

/** A command known to the set but refused on this kind of queue, with `status` at `errorLoc`. */
export function refused(name: string, status: number, errorLoc: number): Command {
  return {
    name,
    parse: (req) => {
      req.errorLoc = errorLoc;
      return status;
    },
    execute: (req) => req.complete(status),
  };
}
