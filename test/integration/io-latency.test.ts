/**
 * The I/O latency the observer records (`nvmet_io_latency_seconds`) runs from the
 * capsule's arrival until its response has left on the socket, not until the core
 * completed it: a completion that waits for the write is still waiting as far as
 * the host can tell. Real NVMe/TCP over loopback, the TypeScript initiator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { connect } from '../../initiator/index.js';
import { GatedBackend, GATED_READ_BYTE } from '../core/gated-backend.js';
import type { IoObserver, IoOp } from '../../target/core/io-observer.js';
import { NvmeError } from '../../initiator/errors.js';
import { startTarget, SUBNQN, until, type TestTarget } from './harness.js';

class Recorder implements IoObserver {
  readonly seen: { op: IoOp; bytes: number; latencySeconds: number; status: number }[] = [];
  observeIo(op: IoOp, bytes: number, latencySeconds: number, status: number): void {
    this.seen.push({ op, bytes, latencySeconds, status });
  }
}

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

let t: TestTarget | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

describe('I/O latency: capsule arrival to response departure', () => {
  it('includes the time a completed command waited for its response to be written, and carries its status', async () => {
    t = await startTarget();
    const gated = new GatedBackend();
    await t.subsys.addNamespace({ nsid: 2, backend: gated, blockSize: 512 }).enable();
    const rec = new Recorder();
    t.nvmet.ioObserver = rec;
    const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, kato: 0, queues: 1 });
    try {
      const submitted = performance.now();
      const read = c.read(2, 0, 8);
      await until(() => gated.gates.length === 1, 10_000, 'the read to reach the backend');
      expect(rec.seen).toHaveLength(0);
      // The gate opens now: the command completes in this turn's microtasks and its
      // response is queued for the turn's write, which runs after this (earlier)
      // immediate has held the event loop for 150 ms.
      gated.gates.shift()!();
      setImmediate(() => spin(150));
      expect(Buffer.compare(await read, Buffer.alloc(4096, GATED_READ_BYTE))).toBe(0);
      expect(rec.seen).toHaveLength(1);
      const [r] = rec.seen;
      expect(r!.op).toBe('read');
      expect(r!.bytes).toBe(4096);
      expect(r!.status).toBe(0);
      // It arrived before the gate opened and left after the 150 ms hold, and within
      // the time the host waited for it.
      expect(r!.latencySeconds).toBeGreaterThanOrEqual(0.15);
      expect(r!.latencySeconds * 1000).toBeLessThanOrEqual(performance.now() - submitted);

      // A failed command is observed too, with its status.
      gated.fail = true;
      const bad = c.read(2, 8, 8);
      await until(() => gated.gates.length === 1, 10_000, 'the second read to reach the backend');
      gated.gates.shift()!();
      const err = await bad.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NvmeError);
      await until(() => rec.seen.length === 2, 10_000, 'the failed read to be observed');
      expect(rec.seen[1]!.status).toBe((err as NvmeError).status & 0x7fff);
      expect(rec.seen[1]!.status).not.toBe(0);
    } finally {
      await c.close();
    }
  });
});
