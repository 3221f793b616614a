/**
 * Honest NIC models (issue 16 item 3): what p2pmem staging saves depends on the NIC kind.
 * Same fabric (the default JBOF vs jbof-plain-tcp, which differ only in the NIC), same
 * NVMe/TCP workload, p2pmem vs system-memory staging; bytes per payload byte on the
 * root complex, in DRAM and as CPU MMIO.
 */
import { describe, expect, it } from 'vitest';
import { Controller } from '../../initiator/controller.js';
import type { DmaCounters } from '../../src/copy/link-accounting.js';
import { perTest, SSD1, SUBNQN, startStack, type Stack } from './stack.js';

const t = perTest();

interface Delta {
  rc: number;
  dram: number;
  mmioW: number;
  mmioR: number;
  digestMmio: number;
  digestDram: number;
  copy: number;
}

function delta(a: DmaCounters, b: DmaCounters): Delta {
  return {
    rc: b.rootComplexBytes - a.rootComplexBytes,
    dram: b.dramBytes - a.dramBytes,
    mmioW: b.cpu.mmioWriteBytes - a.cpu.mmioWriteBytes,
    mmioR: b.cpu.mmioReadBytes - a.cpu.mmioReadBytes,
    digestMmio: b.cpu.digestMmioReadBytes - a.cpu.digestMmioReadBytes,
    digestDram: b.cpu.digestDramBytes - a.cpu.digestDramBytes,
    copy: b.cpu.copyBytes - a.cpu.copyBytes,
  };
}

const N = 64 * 1024;

/** Write then read back N bytes (verified) on nsid 1; the counter delta of each. */
async function writeRead(s: Stack, ddgst: boolean): Promise<{ w: Delta; r: Delta }> {
  const h = await Controller.connect({ host: '127.0.0.1', port: Number(s.trsvcid), subnqn: SUBNQN, queues: 1, kato: 0, ddgst });
  t.host = h;
  await h.geometry(1);
  const data = new Uint8Array(N).map((_, i) => (i * 7 + 3) & 0xff);
  const c0 = s.dp.accounting.snapshot();
  await h.write(1, 0, data);
  const c1 = s.dp.accounting.snapshot();
  const back = await h.read(1, 0, N / 512);
  const c2 = s.dp.accounting.snapshot();
  expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
  return { w: delta(c0, c1), r: delta(c1, c2) };
}

describe('NIC kinds on the same fabric', () => {
  it('tcp-ddp (default JBOF): p2pmem staging keeps TCP payload off the root complex and DRAM; no CPU copies', async () => {
    t.stack = await startStack({ allowP2pmem: true, namespaces: [{ nsid: 1, nvme: SSD1 }] });
    expect(t.stack.dp.portState(1)!.nicKind).toBe('tcp-ddp');
    const { w, r } = await writeRead(t.stack, true);
    for (const d of [w, r]) expect(d).toEqual({ rc: 0, dram: 0, mmioW: 0, mmioR: 0, digestMmio: 0, digestDram: 0, copy: 0 });
    expect(t.stack.dp.summary()).toMatch(/port 1: NIC 0000:03:00\.0, [^\n]*\n[^\n]*\n\s+NIC kind tcp-ddp: NVMe\/TCP direct data placement/);
  });

  it('tcp-ddp, system-memory staging: every payload byte crosses the root complex twice (NIC <-> DRAM, DRAM <-> SSD)', async () => {
    t.stack = await startStack({ allowP2pmem: false, namespaces: [{ nsid: 1, nvme: SSD1 }] });
    const { w, r } = await writeRead(t.stack, true);
    for (const d of [w, r]) expect(d).toEqual({ rc: 2 * N, dram: 2 * N, mmioW: 0, mmioR: 0, digestMmio: 0, digestDram: 0, copy: 0 });
  });

  it('plain tcp, p2pmem staging: saves no root-complex bytes; the CPU copies through MMIO and a data digest reads p2pmem through MMIO', async () => {
    t.stack = await startStack({ topology: 'jbof-plain-tcp', allowP2pmem: true, namespaces: [{ nsid: 1, nvme: SSD1 }] });
    expect(t.stack.dp.portState(1)!).toMatchObject({ nicKind: 'tcp', p2pmemInUse: true });
    const { w, r } = await writeRead(t.stack, true);
    // Write: NIC -> socket buffer (RC, DRAM), CPU socket buffer -> p2pmem (RC, DRAM read, MMIO write), digest: MMIO read.
    expect(w).toEqual({ rc: 3 * N, dram: 2 * N, mmioW: N, mmioR: N, digestMmio: N, digestDram: 0, copy: N });
    // Read: digest (MMIO read), CPU p2pmem -> socket buffer (MMIO read, RC, DRAM write), NIC DMA from DRAM (RC, DRAM).
    expect(r).toEqual({ rc: 3 * N, dram: 2 * N, mmioW: 0, mmioR: 2 * N, digestMmio: N, digestDram: 0, copy: N });
    expect(t.stack.dp.summary()).toMatch(/NIC kind tcp: TCP payload lands in socket buffers in system memory/);
  });

  it('plain tcp without digests, p2pmem vs system memory: the same root-complex bytes (p2pmem saves none), only DRAM and MMIO differ', async () => {
    t.stack = await startStack({ topology: 'jbof-plain-tcp', allowP2pmem: true, namespaces: [{ nsid: 1, nvme: SSD1 }] });
    const p2p = await writeRead(t.stack, false);
    await t.host!.close();
    t.host = null;
    await t.stack.stop();
    t.stack = await startStack({ topology: 'jbof-plain-tcp', allowP2pmem: false, namespaces: [{ nsid: 1, nvme: SSD1 }] });
    const sys = await writeRead(t.stack, false);
    expect(p2p.w.rc).toBe(2 * N);
    expect(sys.w.rc).toBe(2 * N);
    expect(p2p.r.rc).toBe(2 * N);
    expect(sys.r.rc).toBe(2 * N);
    // System memory: NIC -> DRAM, memcpy (read + write), SSD DMA from DRAM = 4 N in DRAM; reads are zero-copy sends.
    expect(sys.w).toMatchObject({ dram: 4 * N, mmioW: 0, mmioR: 0, copy: N });
    expect(sys.r).toMatchObject({ dram: 2 * N, mmioW: 0, mmioR: 0, copy: 0 });
    expect(p2p.w).toMatchObject({ dram: 2 * N, mmioW: N, mmioR: 0, copy: N });
    expect(p2p.r).toMatchObject({ dram: 2 * N, mmioW: 0, mmioR: N, copy: N });
  });
});
