/**
 * A verified write/read workload over any host (TCP Controller or RDMA controller):
 * writes distinct patterns at distinct LBAs of each namespace with several commands
 * in flight, reads every range back and compares.
 */
import { expect } from 'vitest';
import { pattern } from './stack.js';

export interface BlockHost {
  write(nsid: number, slba: number, data: Uint8Array): Promise<void>;
  read(nsid: number, slba: number, nlb: number): Promise<Uint8Array>;
}

export interface WorkloadOptions {
  nsids?: number[];
  /** Transfer sizes in bytes (multiples of 512), cycled. */
  sizes?: number[];
  /** Commands per namespace. */
  count?: number;
  /** Commands in flight. */
  depth?: number;
  seed?: number;
  /** Allocate write buffers with this (e.g. shared memory for RDMA). */
  alloc?: (len: number) => Uint8Array;
}

export interface WorkloadResult {
  bytesWritten: number;
  bytesRead: number;
  commands: number;
}

/** Run `jobs` with at most `depth` in flight. */
async function limited(jobs: (() => Promise<void>)[], depth: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(depth, jobs.length) }, worker));
}

export async function verifiedWorkload(h: BlockHost, o: WorkloadOptions = {}): Promise<WorkloadResult> {
  const nsids = o.nsids ?? [1, 2];
  const sizes = o.sizes ?? [4096, 128 * 1024, 16 * 1024, 64 * 1024];
  const count = o.count ?? 12;
  const seed = o.seed ?? 7;
  const ranges: { nsid: number; slba: number; data: Uint8Array }[] = [];
  for (const nsid of nsids) {
    let lba = 0;
    for (let i = 0; i < count; i++) {
      const len = sizes[i % sizes.length]!;
      const buf = o.alloc ? o.alloc(len) : new Uint8Array(len);
      pattern(len, seed * 1000 + nsid * 100 + i, buf);
      ranges.push({ nsid, slba: lba, data: buf });
      lba += len / 512 + 8; // gaps: neighbouring ranges never share a block
    }
  }
  const depth = o.depth ?? 8;
  await limited(ranges.map((r) => () => h.write(r.nsid, r.slba, r.data)), depth);
  const got: Uint8Array[] = new Array(ranges.length);
  await limited(
    ranges.map((r, i) => async () => {
      got[i] = await h.read(r.nsid, r.slba, r.data.length / 512);
    }),
    depth,
  );
  for (let i = 0; i < ranges.length; i++) {
    const want = ranges[i]!.data;
    const have = got[i]!;
    expect(have.length).toBe(want.length);
    // Compare as one Buffer: a mismatch report with 128 KiB of bytes is useless.
    expect(Buffer.compare(Buffer.from(have.buffer, have.byteOffset, have.length), Buffer.from(want.buffer, want.byteOffset, want.length)), `range ${i} (nsid ${ranges[i]!.nsid} slba ${ranges[i]!.slba})`).toBe(0);
  }
  const bytes = ranges.reduce((s, r) => s + r.data.length, 0);
  return { bytesWritten: bytes, bytesRead: bytes, commands: ranges.length * 2 };
}
