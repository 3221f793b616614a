/**
 * Reads that arrive in one socket read run together at its end (target/tcp/queue.ts
 * runReads): every one's prefetch hint first, so their media loads overlap, then each
 * read. Real NVMe/TCP over loopback (the initiator corks the commands of one tick into
 * one write), a RAM backend that records the order of its calls, and the data checked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../initiator/index.js';
import { RamBackend } from '../../target/backend/ram.js';
import { startTarget, SUBNQN, pattern, type TestTarget } from '../integration/harness.js';

class RecordingRam extends RamBackend {
  readonly calls: string[] = [];
  prefetch(offset: number, length: number): void {
    this.calls.push(`p${offset / 4096}`);
    void length;
  }
  override read(offset: number, dst: Uint8Array): ReturnType<RamBackend['read']> {
    this.calls.push(`r${offset / 4096}`);
    return super.read(offset, dst);
  }
}

let t: TestTarget | null = null;
afterEach(async () => {
  await t?.stop();
  t = null;
});

describe('reads of one socket read', () => {
  it('get their prefetch hints before any of them reads, and each returns its own data', async () => {
    t = await startTarget();
    const ram = new RecordingRam(16 << 20);
    await t.subsys.addNamespace({ nsid: 2, backend: ram, blockSize: 512 }).enable();
    const c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, kato: 0, queues: 1 });
    try {
      const data = pattern(8 * 4096, 5);
      await c.write(2, 0, data);
      ram.calls.length = 0;
      // Submitted in one tick: one corked write, one socket read on the target.
      const reads = await Promise.all(Array.from({ length: 8 }, (_, i) => c.read(2, i * 8, 8)));
      reads.forEach((r, i) => expect(Buffer.compare(r, data.subarray(i * 4096, (i + 1) * 4096))).toBe(0));
      const firstRead = ram.calls.findIndex((x) => x.startsWith('r'));
      const prefetchedFirst = ram.calls.slice(0, firstRead).filter((x) => x.startsWith('p'));
      // Every read of the batch was hinted before the first of them ran (at least the batch the first read belongs to).
      expect(prefetchedFirst.length).toBeGreaterThanOrEqual(2);
      expect(ram.calls.filter((x) => x.startsWith('p')).sort()).toEqual(ram.calls.filter((x) => x.startsWith('r')).map((x) => `p${x.slice(1)}`).sort());
    } finally {
      await c.close();
    }
  });
});
