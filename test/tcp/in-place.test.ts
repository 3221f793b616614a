/**
 * Large payloads read by the kernel straight into their destination, end to end
 * over a real socket: the initiator's C2HData into the caller's buffer, the
 * target's H2CData into the request's staging buffer. Every byte must survive
 * whatever the read boundaries were, digests included.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect } from '../../initiator/index.js';
import type { Controller } from '../../initiator/index.js';
import { startTarget, SUBNQN, pattern } from '../integration/harness.js';
import type { TestTarget } from '../integration/harness.js';

let t: TestTarget | null = null;
const ctrls: Controller[] = [];
afterEach(async () => {
  for (const c of ctrls.splice(0)) await c.close();
  await t?.stop();
  t = null;
});

describe.each([
  { hdgst: false, ddgst: false },
  { hdgst: true, ddgst: true },
])('in-place receive (digests %o)', (dg) => {
  test('pipelined 128 KiB and 1 MiB writes and reads come back intact, the large C2HData payloads read in place', async () => {
    t = await startTarget();
    const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, queues: 1, queueDepth: 16, ...dg });
    ctrls.push(c);
    const q = c.ioQueues[0]!;
    const sizes = [128 * 1024, 1024 * 1024, 8192, 128 * 1024 + 512, 300 * 1024];
    const datas = sizes.map((n, i) => pattern(n, 10 + i));
    let lba = 0;
    const lbas = sizes.map((n) => {
      const at = lba;
      lba += Math.ceil(n / 512) + 8;
      return at;
    });
    // all in flight at once: PDUs of different commands interleave on the wire
    await Promise.all(datas.map((d, i) => c.write(1, lbas[i]!, d)));
    const before = q.rxBytesInPlace;
    const back = await Promise.all(sizes.map((n, i) => c.read(1, lbas[i]!, Math.ceil(n / 512))));
    for (let i = 0; i < sizes.length; i++) {
      expect(Buffer.from(back[i]!.subarray(0, sizes[i]!)).equals(datas[i]!)).toBe(true);
    }
    const total = sizes.reduce((a, b) => a + b, 0);
    // not all (headers, the window after each in-place read, small payloads are copied), but most
    expect(q.rxBytesInPlace - before).toBeGreaterThan(total / 2);
  });
});
