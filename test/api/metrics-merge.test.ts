/**
 * NvmetMetrics.mergeIo (what the main thread folds from a reactor's ~100 ms aggregate)
 * has exactly the effect of the observeIo calls it stands for: the /metrics exposition
 * text is identical.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { NvmetMetrics } from '../../target/api/metrics.js';
import type { IoOp } from '../../target/core/io-observer.js';
import { LatencyBuckets } from '../../src/stats/latency-buckets.js';
import { startStack, type Stack } from './helpers.js';

let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s.close();
});

interface Sample {
  op: IoOp;
  bytes: number;
  latencySeconds: number;
}

/**
 * One metrics object gets `samples` as observeIo calls; the other as mergeIo aggregates,
 * one per op per drain interval (split after the indexes in `drainAfter`), recorded the way
 * a reactor records (LatencyBuckets, the same seconds → ns conversion as observeIo) and
 * carried through structured clone. Ops are merged in the order they first occur, since a
 * series' position in the exposition is its op's first appearance.
 */
async function texts(samples: readonly Sample[], drainAfter: ReadonlySet<number> = new Set()): Promise<{ direct: string; merged: string }> {
  const direct = new NvmetMetrics(s.svc);
  const merged = new NvmetMetrics(s.svc);
  for (const x of samples) direct.observeIo(x.op, x.bytes, x.latencySeconds);

  const order: IoOp[] = [];
  const perOp = new Map<IoOp, { commands: number; bytes: number; lat: LatencyBuckets }>();
  const post = (): void => {
    for (const op of order) {
      const a = perOp.get(op)!;
      if (a.commands === 0) continue;
      const d = structuredClone(a.lat.drain());
      merged.mergeIo(op, a.commands, a.bytes, d.counts, d.slow);
      a.commands = 0;
      a.bytes = 0;
    }
  };
  samples.forEach((x, i) => {
    let a = perOp.get(x.op);
    if (a === undefined) {
      a = { commands: 0, bytes: 0, lat: new LatencyBuckets() };
      perOp.set(x.op, a);
      order.push(x.op);
    }
    a.commands++;
    a.bytes += x.bytes;
    a.lat.record(x.latencySeconds * 1e9);
    if (drainAfter.has(i)) post();
  });
  post();
  return { direct: await direct.text(), merged: await merged.text() };
}

const OPS: IoOp[] = ['read', 'write', 'flush', 'write_zeroes', 'dsm', 'other'];

describe('NvmetMetrics.mergeIo', () => {
  test('no I/O: the same text as a fresh metrics object', async () => {
    const { direct, merged } = await texts([]);
    expect(merged).toBe(direct);
  });

  test('4 KiB reads and writes plus hook-counted ops, fast and slow latencies, several drains', async () => {
    const samples: Sample[] = [];
    for (let i = 0; i < 2000; i++) {
      const op = OPS[i % 7 === 0 ? 2 + (i % 4) : i % 2]!;
      // 20 µs .. 320 µs, a few of 20 ms .. 6 s (beyond the fast range and the last bucket).
      const latencySeconds = i % 97 === 0 ? 0.02 + (i % 6) : 2e-5 + ((i * 7919) % 300_000) * 1e-9;
      samples.push({ op, bytes: op === 'flush' ? 0 : 4096 * (1 + (i % 3)), latencySeconds });
    }
    const { direct, merged } = await texts(samples, new Set([199, 200, 999, 1500]));
    expect(direct).toContain('nvmet_io_latency_seconds_count{op="dsm"}');
    expect(direct).toContain('nvmet_io_commands_total{op="write_zeroes"}');
    expect(merged).toBe(direct);
  });

  test('latencies on the Prometheus bucket bounds and the fast-range edge', async () => {
    const lats = [1e-5, 2.5e-5, 5e-5, 1e-4, 1e-3, 1e-2, 2 ** 24 / 1e9, (2 ** 24 - 1) / 1e9, 0.1, 5, 0, 1e-10];
    const samples = lats.flatMap((l, i) => OPS.map((op) => ({ op, bytes: 512 * i, latencySeconds: l })));
    const { direct, merged } = await texts(samples, new Set([5, 30]));
    expect(merged).toBe(direct);
  });

  test('random I/O sequences (fast-check)', async () => {
    const sample = fc.record({
      op: fc.constantFrom(...OPS),
      bytes: fc.constantFrom(0, 512, 4096, 131072),
      latencySeconds: fc.oneof({ weight: 5, arbitrary: fc.double({ min: 1e-6, max: 1e-3, noNaN: true }) }, { weight: 1, arbitrary: fc.double({ min: 0, max: 10, noNaN: true }) }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(sample, { maxLength: 200 }), fc.uniqueArray(fc.nat({ max: 200 }), { maxLength: 5 }), async (samples, drains) => {
        const { direct, merged } = await texts(samples, new Set(drains));
        expect(merged).toBe(direct);
      }),
      { numRuns: 60 },
    );
  });

  test('rejects an aggregate whose latency samples do not number its commands, changing nothing', async () => {
    const m = new NvmetMetrics(s.svc);
    const before = await m.text();
    const b = new LatencyBuckets();
    b.record(50_000);
    b.record(3e9);
    const d = b.drain();
    expect(() => m.mergeIo('flush', 3, 0, d.counts, d.slow)).toThrow(RangeError);
    expect(await m.text()).toBe(before);
  });
});
