import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { unwrap, PAGE_SIZE } from '../../src/p2pdma/index.js';
import { sys } from './helpers.js';

let worker: Worker | null = null;
afterEach(async () => {
  await worker?.terminate();
  worker = null;
});

function ask(w: Worker, msg: object): Promise<{ op: string; sum?: number }> {
  const reply = once(w, 'message') as Promise<[{ op: string; sum?: number }]>;
  w.postMessage(msg);
  return reply.then(([m]) => m);
}

describe('BAR memory is a SharedArrayBuffer shared with worker threads', () => {
  it('data written by a worker through one view reads back through the region and the BAR views', async () => {
    const p = sys('default');
    const card = p.topology.get('06:00.0')!;
    unwrap(p.alloc(card, PAGE_SIZE)); // so the region under test is not at BAR offset 0
    const region = unwrap(p.alloc(card, 3 * PAGE_SIZE + 123));
    const flagRegion = unwrap(p.alloc(card, 4));
    const sab = region.bar.memory();
    expect(region.bytes.buffer).toBe(sab);

    worker = new Worker(new URL('./bar-worker.mjs', import.meta.url));
    const flag = new Int32Array(sab, flagRegion.barOffset, 1);
    const filled = await ask(worker, { op: 'fill', sab, offset: region.barOffset, length: region.length, seed: 5, flagOffset: flagRegion.barOffset });
    expect(filled.op).toBe('filled');
    expect(Atomics.load(flag, 0)).toBe(1);

    const expected = Uint8Array.from({ length: region.length }, (_, i) => (5 + i * 7) & 0xff);
    expect(Buffer.from(region.bytes).equals(Buffer.from(expected))).toBe(true);
    // an independent view of the BAR sees the same bytes
    const other = card.bar(0)!.view(region.barOffset, region.length);
    expect(other).not.toBe(region.bytes);
    expect(Buffer.from(other).equals(Buffer.from(expected))).toBe(true);
    // and the bytes around the region were not touched
    expect(card.bar(0)!.view(region.barOffset - 1, 1)[0]).toBe(0);
    expect(card.bar(0)!.view(region.barOffset + region.length, 1)[0]).toBe(0);

    // the other direction: main thread writes, the worker reads
    region.bytes.fill(0);
    region.bytes.set([1, 2, 3, 4], 100);
    const { sum } = await ask(worker, { op: 'checksum', sab, offset: region.barOffset, length: region.length });
    let want = 0;
    for (const b of region.bytes) want = (want * 31 + b) >>> 0;
    expect(sum).toBe(want);
    expect(sum).not.toBe(0);
  });

  it('a CMB region and the NVMe BAR share memory', () => {
    const p = sys('default');
    const nvme = p.topology.get('04:00.0')!;
    const sgl = unwrap(p.allocSgl(nvme, 8192));
    sgl.entries[0].bytes.set([0xde, 0xad, 0xbe, 0xef]);
    const cmbBar = nvme.bar(nvme.cmb!.bar)!;
    expect([...cmbBar.view(nvme.cmb!.offset + sgl.entries[0].barOffset, 4)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
  });
});
