/**
 * Transport-level fault actions over real NVMe/TCP with the TypeScript initiator
 * (header and data digests negotiated): the matching command's response carries a
 * wrong digest or never comes (connection dropped), the host notices exactly that,
 * and a bystander connection keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../initiator/index.js';
import { TransportError } from '../../initiator/errors.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { faultEngine, parseFaultRule } from '../../target/fault/index.js';
import { startStack, SUBNQN, type Stack } from '../api/helpers.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

const host = (hostnqn?: string) =>
  connect({ host: '127.0.0.1', port: s.tcpPort(), subnqn: SUBNQN, kato: 0, queues: 1, hdgst: true, ddgst: true, ...(hostnqn ? { hostnqn } : {}) });

describe('fault rules: NVMe/TCP PDUs', () => {
  for (const [type, what] of [
    ['corrupt-data-digest', /data digest/],
    ['corrupt-header-digest', /digest/],
    ['drop-connection', /./],
  ] as const) {
    it(`${type}: the matching Read fails on the host (${String(what)}); a bystander connection is unaffected`, async () => {
      const engine = faultEngine(s.svc.nvmet);
      engine.clear();
      const victim = await host('nqn.2014-08.org.example:wire-victim');
      const other = await host('nqn.2014-08.org.example:wire-other');
      try {
        await victim.write(1, 0, new Uint8Array(4096).fill(0x33));
        engine.add(parseFaultRule({ match: { hostnqn: 'nqn.2014-08.org.example:wire-victim', set: 'io', opcode: IoOpcode.Read }, fire: { count: 1 }, action: { type } }));
        const err = await victim.read(1, 0, 8).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(TransportError);
        expect(String((err as Error).message)).toMatch(what);
        expect(new Uint8Array(await other.read(1, 0, 8))).toEqual(new Uint8Array(4096).fill(0x33));
        expect(engine.injectedTotals().get(type)).toBe(1);
      } finally {
        victim.abort();
        await other.close();
        engine.clear();
      }
    });
  }
});
