/**
 * The I/O latency the observer records (`nvmet_io_latency_seconds`) runs from the
 * capsule's arrival until its response has left on the socket, not until the core
 * completed it: a completion that waits for the write is still waiting as far as
 * the host can tell. Real NVMe/TCP over loopback, the TypeScript initiator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { connect } from '../../initiator/index.js';
import type { NamespaceBackend } from '../../target/backend/backend.js';
import type { IoObserver, IoOp } from '../../target/core/io-observer.js';
import { NvmeError } from '../../initiator/errors.js';
import { startTarget, SUBNQN, type TestTarget } from './harness.js';

/** A backend whose reads finish only when the test opens their gate. */
class GatedBackend implements NamespaceBackend {
  readonly kind = 'gated';
  readonly deallocatedReadsZeroes = true;
  readonly size = 1 << 20;
  gates: (() => void)[] = [];
  fail = false;
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  read(_off: number, dst: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.gates.push(() => (this.fail ? reject(new Error('EIO')) : (dst.fill(0x5a), resolve()))));
  }
  async write(): Promise<void> {}
  flush(): void {}
  writeZeroes(): void {}
  deallocate(): void {}
  allocatedBytes(): number {
    return 0;
  }
}

class Recorder implements IoObserver {
  readonly seen: { op: IoOp; bytes: number; latencySeconds: number; status: number }[] = [];
  observeIo(op: IoOp, bytes: number, latencySeconds: number, status: number): void {
    this.seen.push({ op, bytes, latencySeconds, status });
  }
}

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
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
      const read = c.read(2, 0, 8);
      await until(() => gated.gates.length === 1, 'the read to reach the backend');
      expect(rec.seen).toHaveLength(0);
      // The gate opens now: the command completes in this turn's microtasks and its
      // response is queued for the turn's write, which runs after this (earlier)
      // immediate has held the event loop for 150 ms.
      const opened = performance.now();
      gated.gates.shift()!();
      setImmediate(() => spin(150));
      expect(Buffer.compare(await read, Buffer.alloc(4096, 0x5a))).toBe(0);
      expect(rec.seen).toHaveLength(1);
      const [r] = rec.seen;
      expect(r!.op).toBe('read');
      expect(r!.bytes).toBe(4096);
      expect(r!.status).toBe(0);
      // It arrived before the gate opened and left after the 150 ms hold.
      expect(r!.latencySeconds).toBeGreaterThanOrEqual(0.15);
      expect(r!.latencySeconds * 1000).toBeLessThanOrEqual(performance.now() - opened + 10_000);

      // A failed command is observed too, with its status.
      gated.fail = true;
      const bad = c.read(2, 8, 8);
      await until(() => gated.gates.length === 1, 'the second read to reach the backend');
      gated.gates.shift()!();
      const err = await bad.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(NvmeError);
      await until(() => rec.seen.length === 2, 'the failed read to be observed');
      expect(rec.seen[1]!.status).toBe((err as NvmeError).status & 0x7fff);
      expect(rec.seen[1]!.status).not.toBe(0);
    } finally {
      await c.close();
    }
  });
});
