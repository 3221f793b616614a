import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, P2pError, unwrap, type P2pErrorCode, type Result } from '../../src/p2pdma/index.js';
import { dev, GiB, MiB, parsed, sys } from './helpers.js';
import { smallJbof } from '../pci/helpers.js';

function code<T>(r: Result<T>): P2pErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

describe('probe: drivers register and publish p2pmem', () => {
  it('registers both 256M CMBs and the 1G p2pmem card of the JBOF, all published', () => {
    const p = sys('default');
    expect(p.providers().map((f) => f.bdf)).toEqual(['0000:04:00.0', '0000:05:00.0', '0000:06:00.0']);
    expect(p.stats('0000:04:00.0')).toMatchObject({ size: 256 * MiB, available: 256 * MiB, published: true });
    expect(p.stats('0000:06:00.0')).toMatchObject({ size: GiB, available: GiB, published: true });
    expect(p.stats('0000:03:00.0')).toMatchObject({ size: 0, available: 0, published: false }); // the RNIC
    expect(p.hasP2pmem('0000:04:00.0')).toBe(true);
  });

  it('registers but does not publish a CMB without both WDS and RDS (as nvme-pci)', () => {
    for (const bits of [{ wds: true, rds: false }, { wds: false, rds: true }, { wds: false, rds: false }]) {
      const j = smallJbof();
      Object.assign(j.endpoints[1].cmb, bits);
      const p = sys(parsed(j));
      expect(p.stats('04:00.0')).toMatchObject({ size: MiB, published: false });
      expect(p.hasP2pmem('04:00.0')).toBe(false);
      const list = p.createClientList();
      unwrap(p.addClient(list, '03:00.0'));
      unwrap(p.addClient(list, '04:00.0'));
      const e = p.explainFind(list);
      expect(e.candidates.find((c) => c.provider === '0000:04:00.0')).toMatchObject({ considered: false, reason: 'not published' });
      expect(p.find(list)?.bdf).toBe('0000:05:00.0'); // the published p2pmem card instead
    }
  });

  it('probe can be turned off; publish(false) hides a provider without touching its allocations', () => {
    const p = sys('default', { probe: false });
    expect(p.providers()).toEqual([]);
    p.publish('06:00.0', true); // no p2pmem yet: no-op
    expect(p.hasP2pmem('06:00.0')).toBe(false);
    unwrap(p.probe('06:00.0'));
    const r = unwrap(p.alloc('06:00.0', PAGE_SIZE));
    p.publish('06:00.0', false);
    expect(p.stats('06:00.0')).toMatchObject({ published: false, outstanding: 1 });
    const list = p.createClientList();
    unwrap(p.addClient(list, '03:00.0'));
    expect(p.find(list)).toBeNull();
    // allocation does not require publication (the owner may use its own memory)
    expect(code(p.alloc('06:00.0', PAGE_SIZE))).toBe('ok');
    unwrap(p.freeRegion(r));
  });
});

describe('addResource (pci_p2pdma_add_resource)', () => {
  const fresh = () => {
    const j = smallJbof();
    j.endpoints[0].bars.push({ index: 2, size: 256, type: 'io' });
    j.endpoints[0].bars.push({ index: 4, size: '64K' });
    return sys(parsed(j), { probe: false });
  };

  it.each([
    ['an I/O BAR', 2, 0, 0],
    ['a BAR that does not exist', 3, 0, 0],
    ['offset = BAR length', 4, 0, 64 * 1024],
    ['offset > BAR length', 4, 0, 1 << 20],
    ['size + offset > BAR length', 4, 64 * 1024, PAGE_SIZE],
    ['negative offset', 4, 0, -1],
  ])('EINVAL for %s', (_n, bar, size, offset) => {
    const p = fresh();
    const r = p.addResource('03:00.0', bar, size, offset);
    expect(code(r)).toBe('EINVAL');
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(P2pError);
      expect(r.error.errno).toBe(-22);
    }
    expect(p.stats('03:00.0').size).toBe(0);
  });

  it('size 0 takes the rest of the BAR; several calls add several chunks', () => {
    const p = fresh();
    unwrap(p.addResource('03:00.0', 4, 0, 48 * 1024));
    expect(p.stats('03:00.0')).toMatchObject({ size: 16 * 1024, available: 16 * 1024, published: false });
    unwrap(p.addResource('03:00.0', 4, 16 * 1024, 0));
    expect(p.stats('03:00.0').size).toBe(32 * 1024);
    unwrap(p.addResource('03:00.0', 0, 1 * MiB, 0));
    expect(p.stats('03:00.0').size).toBe(32 * 1024 + MiB);
  });

  it('EBUSY when the range is already registered; ENODEV for unknown devices', () => {
    const p = fresh();
    unwrap(p.addResource('03:00.0', 4, 16 * 1024, 0));
    expect(code(p.addResource('03:00.0', 4, PAGE_SIZE, 8 * 1024))).toBe('EBUSY');
    expect(code(p.addResource('0000:09:00.0', 0, 0, 0))).toBe('ENODEV');
    expect(code(p.addResource({ name: 'nvme0n1' }, 0, 0, 0))).toBe('ENODEV');
  });
});

describe('device resolution', () => {
  it('a PciFunction of another topology with the same BDF is not this fabric’s device', () => {
    const p = sys('default');
    const other = dev(sys('default'), '0000:04:00.0'); // same BDF, another parse
    expect(other).not.toBe(dev(p, '0000:04:00.0'));
    expect(code(p.alloc(other, PAGE_SIZE))).toBe('ENODEV');
    expect(code(p.allocSgl(other, PAGE_SIZE))).toBe('ENOMEM'); // alloc_sgl reports every failure as ENOMEM
    expect(code(p.free(other, 0, PAGE_SIZE))).toBe('ENODEV');
    expect(p.findParentPciDev({ name: 'nvme0', parent: other })).toBeNull();
    expect(p.stats(other)).toMatchObject({ size: 0, outstanding: 0 });
    // the device itself, by object or by BDF spelling, resolves and allocates
    const r = unwrap(p.alloc(dev(p, '0000:04:00.0'), PAGE_SIZE));
    expect(p.stats('04:00.0').outstanding).toBe(1);
    unwrap(p.free('0000:04:00.0', r.cpuAddr, r.length));
    expect(p.stats(dev(p, '0000:04:00.0')).outstanding).toBe(0);
  });
});

describe('alloc / free / SGL / virtToBus', () => {
  it('returns a region with BAR offset, CPU and bus addresses and a view into the BAR', () => {
    const p = sys('default');
    const card = dev(p, '06:00.0');
    const bar = card.bar(0)!;
    const a = unwrap(p.alloc(card, 3 * PAGE_SIZE));
    const b = unwrap(p.alloc(card, 100));
    expect(a.provider).toBe(card);
    expect(a.bar).toBe(bar);
    expect([a.barOffset, a.cpuAddr, a.busAddr, a.length, a.reserved]).toEqual([0, bar.cpuAddr, bar.busAddr, 3 * PAGE_SIZE, 3 * PAGE_SIZE]);
    expect([b.barOffset, b.length, b.reserved]).toEqual([3 * PAGE_SIZE, 100, PAGE_SIZE]);
    expect(p.stats(card).available).toBe(GiB - 4 * PAGE_SIZE);
    expect(b.bytes.length).toBe(100);
    expect(b.bytes.buffer).toBe(bar.memory());
    b.bytes[0] = 0xab;
    expect(bar.view(3 * PAGE_SIZE, 1)[0]).toBe(0xab);
    expect(p.virtToBus(card, b.cpuAddr)).toBe(b.busAddr);
    unwrap(p.free(card, a.cpuAddr, a.length));
    unwrap(p.freeRegion(b));
    expect(p.stats(card)).toMatchObject({ available: GiB, outstanding: 0 });
  });

  it('with a host bridge offset, bus addresses differ from CPU addresses by the offset', () => {
    const p = sys('host-bridge-offset');
    const nvme = dev(p, '04:00.0');
    const r = unwrap(p.alloc(nvme, 8 * PAGE_SIZE));
    expect(r.cpuAddr).toBe(0x60_1000_0000);
    expect(r.busAddr).toBe(0x10_1000_0000);
    expect(p.virtToBus(nvme, r.cpuAddr)).toBe(0x10_1000_0000);
    expect(p.virtToBus(nvme, r.cpuAddr + 0x123)).toBe(0x10_1000_0123);
    const card = dev(p, '05:00.0');
    const s = unwrap(p.allocSgl(card, 64 * 1024)).entries[0];
    expect(s.cpuAddr - s.busAddr).toBe(0x50_0000_0000);
    expect(p.virtToBus(card, s.cpuAddr)).toBe(s.busAddr);
    expect(p.virtToBus(card, s.cpuAddr)).not.toBe(s.cpuAddr);
    // 0 for a null address, an address outside the pool, or a device without p2pmem
    expect(p.virtToBus(card, 0)).toBe(0);
    expect(p.virtToBus(card, 0x1234)).toBe(0);
    expect(p.virtToBus('03:00.0', s.cpuAddr)).toBe(0);
  });

  it('ENODEV without p2pmem, EINVAL for bad sizes, ENOMEM when nothing fits', () => {
    const p = sys('default');
    expect(code(p.alloc('03:00.0', PAGE_SIZE))).toBe('ENODEV');
    expect(code(p.alloc('04:00.0', 0))).toBe('EINVAL');
    expect(code(p.alloc('04:00.0', -5))).toBe('EINVAL');
    expect(code(p.alloc('04:00.0', 256 * MiB + 1))).toBe('ENOMEM');
    expect(code(p.alloc('04:00.0', 256 * MiB))).toBe('ok');
    expect(code(p.alloc('04:00.0', 1))).toBe('ENOMEM');
  });

  it('free rejects what was not allocated (EINVAL) and keeps accounting straight', () => {
    const p = sys('default');
    const r = unwrap(p.alloc('04:00.0', 2 * PAGE_SIZE));
    expect(code(p.free('04:00.0', r.cpuAddr, PAGE_SIZE))).toBe('EINVAL');
    expect(code(p.free('04:00.0', r.cpuAddr + PAGE_SIZE, PAGE_SIZE))).toBe('EINVAL');
    expect(code(p.free('05:00.0', r.cpuAddr, r.length))).toBe('EINVAL');
    expect(code(p.free('03:00.0', r.cpuAddr, r.length))).toBe('ENODEV');
    expect(code(p.free('04:00.0', r.cpuAddr, r.length))).toBe('ok');
    expect(code(p.free('04:00.0', r.cpuAddr, r.length))).toBe('EINVAL');
    expect(p.stats('04:00.0')).toMatchObject({ available: 256 * MiB, outstanding: 0 });
  });

  it('allocSgl returns exactly one contiguous entry', () => {
    const p = sys('default');
    const sgl = unwrap(p.allocSgl('06:00.0', 1 * MiB + 1));
    expect(sgl.nents).toBe(1);
    expect(sgl.entries).toHaveLength(1);
    expect(sgl.length).toBe(MiB + 1);
    expect(sgl.entries[0].length).toBe(MiB + 1);
    expect(sgl.entries[0].reserved).toBe(MiB + PAGE_SIZE);
    unwrap(p.freeSgl('06:00.0', sgl));
    expect(p.stats('06:00.0').available).toBe(GiB);
    expect(code(p.allocSgl('06:00.0', 0))).toBe('EINVAL');
    expect(code(p.allocSgl('06:00.0', 2 ** 32))).toBe('EINVAL');
    expect(code(p.allocSgl('03:00.0', PAGE_SIZE))).toBe('ENOMEM'); // every allocation failure is ENOMEM
  });

  it('a fragmented pool fails a contiguous SGL while available is larger', () => {
    const j = smallJbof(); // p2pmem card 05:00.0 has 1 MiB = 256 pages
    const p = sys(parsed(j));
    const pages = Array.from({ length: 256 }, () => unwrap(p.alloc('05:00.0', PAGE_SIZE)));
    expect(code(p.alloc('05:00.0', PAGE_SIZE))).toBe('ENOMEM');
    for (let i = 0; i < 256; i += 2) unwrap(p.freeRegion(pages[i]!));
    const st = p.stats('05:00.0');
    expect(st.available).toBe(128 * PAGE_SIZE);
    expect(st.largestFree).toBe(PAGE_SIZE);
    const r = p.allocSgl('05:00.0', 2 * PAGE_SIZE);
    expect(code(r)).toBe('ENOMEM');
    expect(st.available).toBeGreaterThan(2 * PAGE_SIZE);
    expect(code(p.allocSgl('05:00.0', PAGE_SIZE))).toBe('ok');
  });

  it('chunks from separate addResource calls are never merged', () => {
    const p = sys('default', { probe: false });
    unwrap(p.addResource('06:00.0', 0, 4 * PAGE_SIZE, 0));
    unwrap(p.addResource('06:00.0', 0, 4 * PAGE_SIZE, 4 * PAGE_SIZE)); // adjacent in the BAR
    expect(p.stats('06:00.0').available).toBe(8 * PAGE_SIZE);
    expect(code(p.allocSgl('06:00.0', 5 * PAGE_SIZE))).toBe('ENOMEM');
    const r = unwrap(p.alloc('06:00.0', 4 * PAGE_SIZE));
    expect(r.barOffset).toBe(4 * PAGE_SIZE); // newest chunk first, as genalloc
  });
});

describe('unbind lifecycle', () => {
  it('refuses new allocations at once and completes only after every allocation is freed', async () => {
    const p = sys('default');
    const a = unwrap(p.alloc('06:00.0', PAGE_SIZE));
    const b = unwrap(p.allocSgl('06:00.0', 8 * PAGE_SIZE));
    let done = false;
    const unbound = p.unbind('06:00.0').then(() => {
      done = true;
    });
    expect(p.unbind('06:00.0')).toBe(p.unbind('06:00.0')); // same promise while waiting
    expect(code(p.alloc('06:00.0', PAGE_SIZE))).toBe('ENODEV');
    expect(code(p.allocSgl('06:00.0', PAGE_SIZE))).toBe('ENOMEM');
    expect(p.stats('06:00.0')).toMatchObject({ unbinding: true, outstanding: 2, size: GiB });
    const list = p.createClientList();
    unwrap(p.addClient(list, '03:00.0'));
    const e = p.explainFind(list);
    expect(e.candidates.find((c) => c.provider === '0000:06:00.0')?.reason).toBe('being unbound');
    expect(code(p.probe('06:00.0'))).toBe('EBUSY');
    expect(code(p.addResource('06:00.0', 0, PAGE_SIZE, 0))).toBe('EBUSY');

    unwrap(p.freeRegion(a));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    unwrap(p.freeSgl('06:00.0', b));
    await unbound;
    expect(done).toBe(true);
    expect(p.stats('06:00.0')).toMatchObject({ size: 0, available: 0, published: false, outstanding: 0, unbinding: false });
    expect(p.providers().map((f) => f.bdf)).not.toContain('0000:06:00.0');
    expect(code(p.alloc('06:00.0', PAGE_SIZE))).toBe('ENODEV');
    // the driver can bind again
    unwrap(p.probe('06:00.0'));
    expect(p.stats('06:00.0')).toMatchObject({ size: GiB, published: true });
  });

  it('completes immediately with nothing outstanding', async () => {
    const p = sys('default');
    await p.unbind('04:00.0');
    expect(p.stats('04:00.0')).toMatchObject({ size: 0, available: 0, published: false });
    await p.unbind('03:00.0'); // no p2pmem at all
  });
});
