import { describe, expect, it } from 'vitest';
import { adminOpcodeName, fabricsTypeName, ioOpcodeName } from '../../src/nvme/opcodes.js';
import { commandTable, type Command, type CommandTable } from '../../target/cmd/command.js';
import { adminCommands } from '../../target/cmd/admin/commands.js';
import { discoveryCommands } from '../../target/cmd/discovery/commands.js';
import { ioCommands } from '../../target/cmd/io/commands.js';
import { connectCommands, fabricsAdminCommands, fabricsIoCommands } from '../../target/cmd/fabrics/commands.js';

/** [key, name] of every entry of a table. */
function entries(t: CommandTable): [number, string][] {
  const out: [number, string][] = [];
  t.forEach((c, k) => {
    if (c !== undefined) out.push([k, c.name]);
  });
  return out;
}

/** The spec's name as opcodes.ts spells its keys (no spaces; "Async" for "Asynchronous"). */
const squash = (s: string): string => s.replace(/\s+/g, '').replace('Asynchronous', 'Async');

describe('command tables', () => {
  it.each([
    ['admin', adminCommands, adminOpcodeName],
    ['discovery', discoveryCommands, adminOpcodeName],
    ['io', ioCommands, ioOpcodeName],
    ['connect', connectCommands, fabricsTypeName],
    ['fabrics on the admin queue', fabricsAdminCommands, fabricsTypeName],
    ['fabrics on an I/O queue', fabricsIoCommands, fabricsTypeName],
  ] as const)('%s: every entry sits under the opcode the spec gives its name', (_set, table, specName) => {
    const es = entries(table);
    expect(es.length).toBeGreaterThan(0);
    for (const [key, name] of es) expect(squash(name)).toBe(specName(key));
  });

  it('the sets hold what nvmet accepts (Linux nvmet_parse_*_cmd)', () => {
    expect(entries(adminCommands).map(([, n]) => n).sort()).toEqual(
      ['Abort', 'Asynchronous Event Request', 'Get Features', 'Get Log Page', 'Identify', 'Keep Alive', 'Set Features'].sort(),
    );
    expect(entries(discoveryCommands).map(([, n]) => n).sort()).toEqual(
      ['Asynchronous Event Request', 'Get Features', 'Get Log Page', 'Identify', 'Keep Alive', 'Set Features'].sort(),
    );
    // Reservation commands since Linux 6.13 (pr.c; refused at parse unless the namespace has resv enabled).
    expect(entries(ioCommands).map(([, n]) => n).sort()).toEqual(
      ['Dataset Management', 'Flush', 'Read', 'Write', 'Write Zeroes',
        'Reservation Register', 'Reservation Report', 'Reservation Acquire', 'Reservation Release'].sort(),
    );
    expect(entries(connectCommands).map(([, n]) => n)).toEqual(['Connect']);
  });

  it('a table refuses two commands under one opcode, and opcodes outside a byte', () => {
    const a: Command = { name: 'A', execute: () => undefined };
    const b: Command = { name: 'B', execute: () => undefined };
    expect(() => commandTable([[1, a], [1, b]])).toThrow(/0x1 is both A and B/);
    expect(() => commandTable([[256, a]])).toThrow(RangeError);
    expect(commandTable([[0xff, a]])[0xff]).toBe(a);
  });
});
