/**
 * The DMABUF lifecycle of today's p2pdma.rst (issue 16 item 4): hot-removing a provider
 * in `dmabuf` mode delivers move_notify to the data path (the importer), which re-chooses
 * its provider live, revokes every mapped staging buffer (their commands complete with a
 * retryable Transient Transport Error) and only then lets the provider go; `pgmap` mode
 * waits for every allocation to be freed. Hot-add brings a provider back.
 */
import { describe, expect, it } from 'vitest';
import { NvmeError } from '../../initiator/errors.js';
import type { Controller } from '../../initiator/controller.js';
import { DataDir } from '../../target/core/fabrics-ops.js';
import { BackendStatusError } from '../../target/backend/backend.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import { REVOKED_STATUS } from '../../target/p2p/data-path.js';
import { CARD, connectTcp, pattern, perTest, SSD1, SSD2, startStack, type Stack } from './stack.js';

const t = perTest();

/** A staging buffer as the core would take it for an I/O command of nsid 1 on port 1. */
function allocIo(s: Stack, len = 4096) {
  return s.dp.staging.alloc(len, { qid: 1, nsid: 1, cntlid: 1, dataDir: DataDir.H2C, portId: 1, ns: s.ns(1) });
}

const settled = async (p: Promise<unknown>, ms = 50): Promise<boolean> => {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  await new Promise((r) => setTimeout(r, ms));
  return done;
};

describe('provider removal: dmabuf (move_notify) and pgmap (drain)', () => {
  it('dmabuf: the port re-chooses at once, a mapped buffer is revoked, the provider goes only after it is unmapped', async () => {
    t.stack = await startStack({ allowP2pmem: true, random: () => 0 });
    const s = t.stack;
    expect(s.dp.portState(1)!.provider).toBe(SSD1);
    const buf = allocIo(s);
    const removal = s.dp.removeProvider(SSD1, 'dmabuf');
    // move_notify ran synchronously: the port chose again (SSD2's CMB is next), counted and explained.
    const st = s.dp.portState(1)!;
    expect(st.provider).toBe(SSD2);
    expect(st.providerChanges).toBe(1);
    expect(st.lastProviderChange).toEqual({ from: SSD1, to: SSD2, why: `provider ${SSD1} removed (move_notify)` });
    expect(st.reason).toMatch(/^provider 0000:04:00\.0 removed \(move_notify\): p2pmem from 0000:05:00\.0/);
    // New commands already stage in the new provider.
    const next = allocIo(s);
    expect(s.dp.staging.regionOf(next.bytes).owner).toBe(SSD2);
    next.free();
    // The old buffer is still mapped: the provider waits; its command may not DMA it any more.
    expect(await settled(removal)).toBe(false);
    expect(s.dp.providerState(SSD1)!.unbinding).toBe(true);
    const backend = s.ns(1).backend;
    let err: unknown;
    try {
      await backend.write(0, buf.bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackendStatusError);
    expect((err as BackendStatusError).status).toBe(NvmeStatus.TransientTransportError);
    expect((err as BackendStatusError).status & STATUS_DNR).toBe(0);
    expect(s.dp.portState(1)!.revokedCommands).toBe(1);
    // Unmapped (the command completed): the provider goes.
    buf.free();
    const report = await removal;
    expect(report).toMatchObject({ bdf: SSD1, mode: 'dmabuf', outstandingAtStart: 1, importersNotified: 1 });
    expect(s.dp.providerState(SSD1)).toMatchObject({ removed: true, size: 0 });
    expect(s.dp.state().lifecycle).toMatchObject({ removals: 1, revokedBuffers: 1, revokedCommands: 1 });
    expect(s.logs.some((l) => /0000:04:00\.0: p2p provider removed \(dmabuf\)/.test(l))).toBe(true);
  });

  it('pgmap: nobody is told; the removal waits for the allocation, new commands fall back per command, the buffer stays usable', async () => {
    t.stack = await startStack({ allowP2pmem: true, random: () => 0 });
    const s = t.stack;
    const buf = allocIo(s);
    const removal = s.dp.removeProvider(SSD1, 'pgmap');
    expect(s.dp.portState(1)!.provider).toBe(SSD1); // Linux: nvmet keeps its p2p_dev
    const fb = allocIo(s);
    expect(s.dp.staging.regionOf(fb.bytes).owner).toBe('dram');
    expect(s.dp.portState(1)!.fallbacks).toBe(1);
    fb.free();
    await s.ns(1).backend.write(0, buf.bytes); // still mapped and usable until freed
    expect(await settled(removal)).toBe(false);
    buf.free();
    expect(await removal).toMatchObject({ mode: 'pgmap', outstandingAtStart: 1, importersNotified: 0 });
    expect(s.dp.portState(1)!.revokedCommands).toBe(0);
  });

  it('removing every provider leaves system memory; a hot-add is chosen again live', async () => {
    t.stack = await startStack({ allowP2pmem: true, random: () => 0 });
    const s = t.stack;
    for (const p of [SSD1, SSD2, CARD]) await s.dp.removeProvider(p, 'dmabuf');
    const st = s.dp.portState(1)!;
    expect(st.provider).toBeNull();
    expect(st.reason).toMatch(/^provider 0000:06:00\.0 removed \(move_notify\): no compatible p2pmem provider: no device has registered p2pmem; staging in system memory$/);
    expect(() => s.dp.addProvider(SSD1)).not.toThrow();
    expect(s.dp.portState(1)!).toMatchObject({ provider: SSD1, lastProviderChange: { from: null, to: SSD1, why: `provider ${SSD1} added` } });
    expect(() => s.dp.addProvider(SSD1)).toThrow(/already provides p2pmem/);
    await expect(s.dp.removeProvider('0000:03:00.0', 'dmabuf')).rejects.toThrow(/has no p2pmem to remove/);
  });

  it('under load from the TypeScript initiator: every byte verified, retryable failures retried, no hang, no leak', async () => {
    t.stack = await startStack({ allowP2pmem: true, random: () => 0, namespaces: [{ nsid: 1, nvme: SSD1 }] });
    const s = t.stack;
    const h: Controller = await connectTcp(s, 2);
    t.host = h;
    await h.geometry(1);
    let retries = 0;
    const retry = async <T>(op: () => Promise<T>): Promise<T> => {
      for (let i = 0; ; i++) {
        try {
          return await op();
        } catch (e) {
          // Transient Transport Error, DNR clear: what a Linux host retries.
          if (e instanceof NvmeError && (e.status & 0x7ff) === REVOKED_STATUS && (e.status & STATUS_DNR) === 0 && i < 5) {
            retries++;
            continue;
          }
          throw e;
        }
      }
    };
    const LEN = 128 * 1024;
    const stop = performance.now() + 20_000;
    const done: number[] = [];
    let removing = false;
    let round = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 40 && performance.now() < stop; i++) {
        const lba = (w * 40 + i) * (LEN / 512);
        const data = pattern(LEN, w * 1000 + i + round);
        await retry(() => h.write(1, lba, data));
        const back = await retry(() => h.read(1, lba, LEN / 512));
        expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
        done.push(performance.now());
        if (!removing && done.length === 20) {
          removing = true;
          void s.dp.removeProvider(SSD1, 'dmabuf');
        }
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(worker));
    round++;
    expect(done.length).toBe(8 * 40);
    const st = s.dp.portState(1)!;
    expect(st.provider).toBe(SSD2);
    expect(st.providerChanges).toBe(1);
    expect(s.dp.providerState(SSD1)!.removed).toBe(true);
    expect(s.dp.state().lifecycle.revokedCommands).toBe(retries);
    expect(s.dp.staging.mappedCount(s.dp.topology.get(SSD1)!)).toBe(0);
    // Stack stop checks every provider pool and system-memory buffer for leaks.
  });
});
