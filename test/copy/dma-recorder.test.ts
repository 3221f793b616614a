import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DmaRecorder, replayDmaRecords, type DmaRecord } from '../../src/copy/dma-recorder.js';
import { LinkAccounting } from '../../src/copy/link-accounting.js';
import { DRAM } from '../../src/copy/region.js';
import { topologyRouter } from '../../src/copy/route.js';
import { jbof, NIC, P2PMEM, SSD1, SSD2 } from './topologies.js';

const KiB = 1024;
const OWNERS = [NIC, SSD1, SSD2, P2PMEM, DRAM] as const;

/** One accounting call, as a reactor's staging makes them (target/p2p/staging.ts). */
type Call =
  | { kind: 'dma'; src: string; dst: string; bytes: number }
  | { kind: 'cpuCopy'; src: string; dst: string; bytes: number }
  | { kind: 'cpuDigest'; where: string; bytes: number }
  /** The reactor posts what it recorded so far. */
  | { kind: 'drain' };

interface Sink {
  record(src: string, dst: string, bytes: number): void;
  recordCpuCopy(src: string, dst: string, bytes: number): void;
  recordCpuDigest(where: string, bytes: number): void;
}

function apply(sink: Sink, c: Call): void {
  if (c.kind === 'dma') sink.record(c.src, c.dst, c.bytes);
  else if (c.kind === 'cpuCopy') sink.recordCpuCopy(c.src, c.dst, c.bytes);
  else if (c.kind === 'cpuDigest') sink.recordCpuDigest(c.where, c.bytes);
}

const router = topologyRouter(jbof());
const fresh = (): LinkAccounting => new LinkAccounting(router);

/** The calls straight into one LinkAccounting vs into a DmaRecorder drained (at every 'drain' and at the end) and replayed into another. */
function directAndReplayed(calls: readonly Call[]): { direct: LinkAccounting; replayed: LinkAccounting; drains: DmaRecord[][] } {
  const direct = fresh();
  const replayed = fresh();
  const rec = new DmaRecorder();
  const drains: DmaRecord[][] = [];
  const post = (): void => {
    // Through structured clone, as postMessage carries it to the main thread.
    const records = structuredClone(rec.drain());
    drains.push(records);
    replayDmaRecords(replayed, records);
  };
  for (const c of calls) {
    if (c.kind === 'drain') post();
    else {
      apply(direct, c);
      apply(rec, c);
    }
  }
  post();
  return { direct, replayed, drains };
}

const dma = (src: string, dst: string, bytes: number): Call => ({ kind: 'dma', src, dst, bytes });
const copy = (src: string, dst: string, bytes: number): Call => ({ kind: 'cpuCopy', src, dst, bytes });
const digest = (where: string, bytes: number): Call => ({ kind: 'cpuDigest', where, bytes });
const drain: Call = { kind: 'drain' };

/** What staging.ts's dataMoved records for one I/O of `bytes` staged in `where` over plain TCP. */
function tcpIo(where: string, write: boolean, withDigest: boolean, bytes: number): Call[] {
  if (write) return [dma(NIC, DRAM, bytes), copy(DRAM, where, bytes), ...(withDigest ? [digest(where, bytes)] : [])];
  return [...(withDigest ? [digest(where, bytes)] : []), ...(where !== DRAM ? [copy(where, DRAM, bytes)] : []), dma(DRAM, NIC, bytes)];
}

const repeat = <T>(n: number, f: (i: number) => T[]): T[] => Array.from({ length: n }, (_, i) => f(i)).flat();

const TABLE: Array<{ name: string; calls: Call[] }> = [
  { name: 'nothing', calls: [] },
  { name: 'one p2p DMA', calls: [dma(NIC, SSD1, 4 * KiB)] },
  { name: '4 KiB reads and writes staged in DRAM over TCP, with and without digest', calls: repeat(50, (i) => tcpIo(DRAM, i % 2 === 0, i % 3 === 0, 4 * KiB)) },
  { name: '4 KiB I/Os staged in p2pmem over TCP (MMIO copies and digests)', calls: repeat(50, (i) => tcpIo(P2PMEM, i % 2 === 1, i % 4 === 0, 4 * KiB)) },
  { name: 'tcp-ddp: NIC <-> p2pmem and p2pmem <-> SSD, mixed sizes', calls: repeat(40, (i) => [dma(NIC, P2PMEM, 512 * (i + 1)), dma(P2PMEM, SSD1, 512 * (i + 1)), dma(SSD2, P2PMEM, 4 * KiB), dma(P2PMEM, NIC, 4 * KiB)]) },
  {
    name: 'every pair of owners, every kind, with drains in between',
    calls: OWNERS.flatMap((a, i) => OWNERS.flatMap((b, j) => [dma(a, b, 100 * (i + 1) + j), copy(a, b, 7 * j + i), digest(a, 3 + i), ...(j === 2 ? [drain] : [])])),
  },
  { name: 'zero-byte calls still count', calls: [dma(NIC, SSD1, 0), copy(P2PMEM, DRAM, 0), digest(P2PMEM, 0), drain, digest(DRAM, 0)] },
  { name: 'empty drains between calls', calls: [drain, drain, dma(DRAM, SSD2, 8 * KiB), drain, drain, copy(DRAM, DRAM, 4 * KiB), drain] },
];

describe('DmaRecorder replayed into LinkAccounting', () => {
  for (const { name, calls } of TABLE) {
    it(`gives the snapshot of the calls themselves: ${name}`, () => {
      const { direct, replayed } = directAndReplayed(calls);
      expect(replayed.snapshot()).toEqual(direct.snapshot());
    });
  }

  it('aggregates by (kind, src, dst): one record per triple, calls counted in times', () => {
    const rec = new DmaRecorder();
    for (let i = 0; i < 1000; i++) for (const c of tcpIo(P2PMEM, i % 2 === 0, true, 4 * KiB)) apply(rec, c);
    const records = rec.drain();
    const key = (r: DmaRecord): string => `${r.kind} ${r.src} ${r.dst}`;
    expect(records.map(key).sort()).toEqual([`cpuCopy ${DRAM} ${P2PMEM}`, `cpuCopy ${P2PMEM} ${DRAM}`, `cpuDigest ${P2PMEM} ${P2PMEM}`, `dma ${DRAM} ${NIC}`, `dma ${NIC} ${DRAM}`].sort());
    for (const r of records) {
      const expectTimes = r.kind === 'cpuDigest' ? 1000 : 500;
      expect(r).toEqual({ kind: r.kind, src: r.src, dst: r.dst, bytes: expectTimes * 4 * KiB, times: expectTimes });
    }
    // Plain data: survives structured clone unchanged.
    expect(structuredClone(records)).toEqual(records);
  });

  it('drain resets; an idle triple is not reported again', () => {
    const rec = new DmaRecorder();
    rec.record(NIC, SSD1, 4096);
    rec.recordCpuDigest(DRAM, 4096);
    expect(rec.drain()).toHaveLength(2);
    expect(rec.drain()).toEqual([]);
    rec.record(NIC, SSD1, 100);
    expect(rec.drain()).toEqual([{ kind: 'dma', src: NIC, dst: SSD1, bytes: 100, times: 1 }]);
    rec.recordCpuDigest(DRAM, 1);
    expect(rec.drain()).toEqual([{ kind: 'cpuDigest', src: DRAM, dst: DRAM, bytes: 1, times: 1 }]);
  });

  it('has no routes: check accepts any pair, even an unknown owner', () => {
    expect(new DmaRecorder().check('0000:ff:00.0', DRAM)).toBeNull();
  });

  it('random call sequences with random drains (fast-check)', () => {
    const owner = fc.constantFrom(...OWNERS);
    const bytes = fc.oneof(fc.constantFrom(0, 512, 4 * KiB, 128 * KiB), fc.nat({ max: 1 << 24 }));
    const call: fc.Arbitrary<Call> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('dma' as const), src: owner, dst: owner, bytes }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('cpuCopy' as const), src: owner, dst: owner, bytes }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('cpuDigest' as const), where: owner, bytes }) },
      { weight: 1, arbitrary: fc.constant(drain) },
    );
    fc.assert(
      fc.property(fc.array(call, { maxLength: 300 }), (calls) => {
        const { direct, replayed } = directAndReplayed(calls);
        expect(replayed.snapshot()).toEqual(direct.snapshot());
      }),
      { numRuns: 300 },
    );
  });
});

describe('LinkAccounting times parameter', () => {
  it('n calls at once equal n separate calls whose bytes sum to the total', () => {
    const once = fresh();
    const each = fresh();
    once.record(NIC, DRAM, 3 * 4096, 3);
    once.recordCpuCopy(DRAM, P2PMEM, 3 * 4096, 3);
    once.recordCpuCopy(P2PMEM, SSD1, 2 * 512, 2);
    once.recordCpuDigest(P2PMEM, 5 * 100, 5);
    once.recordCpuDigest(DRAM, 7, 7);
    for (let i = 0; i < 3; i++) {
      each.record(NIC, DRAM, 4096);
      each.recordCpuCopy(DRAM, P2PMEM, 4096);
    }
    for (let i = 0; i < 2; i++) each.recordCpuCopy(P2PMEM, SSD1, 512);
    for (let i = 0; i < 5; i++) each.recordCpuDigest(P2PMEM, 100);
    for (let i = 0; i < 7; i++) each.recordCpuDigest(DRAM, 1);
    const s = once.snapshot();
    expect(s).toEqual(each.snapshot());
    expect(s.dmaCount).toBe(3);
    expect(s.cpu).toMatchObject({ mmioWrites: 5, mmioReads: 7 });
  });
});
