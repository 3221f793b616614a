/**
 * The p2p-aware staging allocator (Linux nvmet_req_alloc_sgls with
 * nvmet_req_alloc_p2pmem_sgls): each data-carrying I/O command whose port (or
 * namespace) uses p2pmem takes ONE contiguous SGL from the provider for its whole
 * transfer; when the pool cannot satisfy it, that command falls back to system
 * memory and the fallback is counted. Admin and fabrics commands, and everything on
 * ports without p2pmem, stage in system memory — SharedArrayBuffers owned by "dram"
 * so the copy engine and the link accounting treat both kinds alike.
 *
 * Every buffer knows its memory region (memory + owner for the DMA descriptors) and
 * the port's NIC, so the transport's copy between wire and buffer is accounted as the
 * NIC's DMA (`dataMoved`), and the SSD model finds the region behind `req.data`.
 */

import type { StagingAllocator, StagingBuffer, StagingContext } from '../core/staging.js';
import { DataDir } from '../core/fabrics-ops.js';
import type { Logger } from '../core/log.js';
import type { NicKind, PciFunction } from '../../src/pci/model.js';
import type { P2pdma } from '../../src/p2pdma/p2pdma.js';
import type { P2pSgl } from '../../src/p2pdma/region.js';
import { DRAM, type MemoryOwner, type MemoryRegion } from '../../src/copy/region.js';
import type { LinkAccounting, TrafficAccounting } from '../../src/copy/link-accounting.js';
import type { DramChunk, DramPool } from './dram-pool.js';
import type { PortBinding } from './port-binding.js';

/** Per-provider counters the data path adds to p2pdma's own stats. */
export interface ProviderCounters {
  /** p2pmem SGLs handed to commands. */
  allocations: number;
  /** Commands that wanted this provider and got system memory (pool exhausted or fragmented). */
  fallbacks: number;
}

/**
 * The staging buffer a byte view was handed out by, stored on the view itself. A
 * WeakMap keyed by the view did the same job, but its set + delete (ephemeron table
 * upkeep) cost ~300 ns per I/O, more than the rest of the allocator; a symbol-keyed
 * property is a plain field store. Only the exact view object carries it (subarrays do
 * not), and release clears it, as the WeakMap delete did.
 */
const STAGED: unique symbol = Symbol('nvmet-ts staged buffer');

interface TaggedView extends Uint8Array {
  [STAGED]?: StagedBuffer | undefined;
}

export class StagedBuffer implements StagingBuffer {
  live = true;
  /**
   * The provider's MMIO was invalidated (DMABUF move_notify) while this buffer was mapped:
   * the command owning it must not DMA it any more and completes with a retryable error.
   */
  revoked = false;

  constructor(
    readonly owner: P2pStagingAllocator,
    readonly bytes: Uint8Array,
    /** Where the bytes are, for DMA descriptors (owner: provider BDF or "dram"). */
    readonly region: MemoryRegion,
    /** The NIC of the request's port (null: unknown, the wire side is not accounted). */
    readonly nic: string | null,
    /** What that NIC does with TCP payload (null without a NIC). */
    readonly nicKind: NicKind | null,
    readonly provider: PciFunction | null,
    readonly sgl: P2pSgl | null,
    readonly dram: DramChunk<StagedBuffer> | null,
    /** The port binding of the command (counters), if any. */
    readonly binding: PortBinding | undefined,
  ) {}

  free(): void {
    this.owner.release(this);
  }

  /**
   * The TCP transport moved `bytes` between the wire and this buffer. What that was on
   * the fabric depends on the NIC kind (src/pci/model.ts NicKind):
   *  - tcp-ddp: the NIC placed / fetched the payload itself (direct data placement) and
   *    checked or generated the data digest (CRC offload): one NIC DMA, no CPU.
   *  - tcp (and rdma, whose NVMe/TCP is plain TCP): the payload is in socket buffers in
   *    system memory. Receive: NIC DMA into DRAM, then the CPU copies it into the buffer
   *    (memcpy in DRAM; into p2pmem an MMIO write, memcpy_toio). Send: from system memory
   *    the NIC DMAs straight from the buffer (nvmet-tcp sends with MSG_SPLICE_PAGES); from
   *    p2pmem the CPU first copies it out through MMIO reads (memcpy_fromio) into a socket
   *    buffer. A software data digest (nvmet_tcp_calc_ddgst over req->sg) reads the
   *    buffer: DRAM, or p2pmem through MMIO.
   */
  dataMoved(bytes: number, dir: DataDir, digest: boolean): void {
    accountNicMove(this.owner.accounting, this.nic, this.nicKind, this.region.owner, bytes, dir, digest);
  }

}

export interface P2pStagingDeps {
  readonly p2pdma: P2pdma;
  readonly dram: DramPool<StagedBuffer>;
  readonly accounting: LinkAccounting;
  readonly log: Logger;
  binding(portId: number): PortBinding | undefined;
}

export class P2pStagingAllocator implements StagingAllocator {
  readonly name = 'p2p';
  readonly accounting: LinkAccounting;
  private readonly counters = new Map<string, ProviderCounters>();
  /** Staging buffers handed out and not yet freed, by kind. */
  outstandingP2p = 0;
  outstandingSystem = 0;
  private lastFallbackLog = -Infinity;
  /** Live p2pmem buffers per provider (what a move_notify must stop and unmap). */
  private readonly mapped = new Map<PciFunction, Set<StagedBuffer>>();
  /** move_notify in progress: resolved when the provider's last buffer is released. */
  private readonly unmapWaiters = new Map<PciFunction, () => void>();
  /** Buffers invalidated by move_notify, and commands failed because of it. */
  revokedBuffers = 0;
  revokedCommands = 0;

  constructor(private readonly deps: P2pStagingDeps) {
    this.accounting = deps.accounting;
  }

  alloc(len: number, ctx: StagingContext): StagingBuffer {
    const b = this.deps.binding(ctx.portId);
    const nic = b?.nic?.bdf ?? null;
    const nicKind = b?.nic?.nicKind ?? null;
    // p2pmem only for I/O-queue commands on a namespace (nvmet: sq->qid && req->ns).
    const ns = ctx.qid !== 0 ? ctx.ns : null;
    if (b !== undefined && ns !== null) {
      const provider = b.decide(ns).provider;
      if (provider !== null) {
        const c = this.countersOf(provider.bdf);
        const r = this.deps.p2pdma.allocSgl(provider, len);
        if (r.ok) {
          c.allocations++;
          b.p2pAllocations++;
          this.outstandingP2p++;
          const entry = r.value.entries[0];
          const region: MemoryRegion = { memory: entry.bar.memory(), offset: entry.barOffset, length: len, owner: provider.bdf };
          const buf = new StagedBuffer(this, entry.bytes, region, nic, nicKind, provider, r.value, null, b);
          let set = this.mapped.get(provider);
          if (set === undefined) {
            set = new Set();
            this.mapped.set(provider, set);
          }
          set.add(buf);
          (buf.bytes as TaggedView)[STAGED] = buf;
          return buf;
        }
        c.fallbacks++;
        b.fallbacks++;
        this.logFallback(b.portId, provider.bdf, len, r.error.message);
      }
      b.systemAllocations++;
    }
    const chunk = this.deps.dram.alloc(len);
    this.outstandingSystem++;
    // The chunk's previous buffer (the pool keeps `attached` only while it hands out the
    // same view), when it was for the same port: every field would be built equal, and
    // building it anew (a view, two objects, and the write barriers of storing them into
    // old objects) was ~5 % of a 4 KiB read's CPU (bench/README.md, "Session 7"). Reusing
    // the handle is safe because its one holder, Request, drops its reference before it
    // frees it; a second free before the chunk is allocated again still throws.
    let buf = chunk.attached;
    if (buf !== null && buf.binding === b && buf.nic === nic && buf.nicKind === nicKind) {
      buf.live = true;
      buf.revoked = false;
    } else {
      const region: MemoryRegion = { memory: chunk.memory, offset: 0, length: len, owner: DRAM };
      buf = new StagedBuffer(this, chunk.bytes, region, nic, nicKind, null, null, chunk, b);
      chunk.attached = buf;
    }
    (buf.bytes as TaggedView)[STAGED] = buf;
    return buf;
  }

  /** @internal StagedBuffer.free */
  release(buf: StagedBuffer): void {
    // A double free would hand the same memory to two commands: refuse loudly.
    if (!buf.live) throw new Error('staging buffer freed twice');
    buf.live = false;
    (buf.bytes as TaggedView)[STAGED] = undefined;
    if (buf.sgl !== null && buf.provider !== null) {
      this.outstandingP2p--;
      const set = this.mapped.get(buf.provider);
      if (set !== undefined) {
        set.delete(buf);
        if (set.size === 0) {
          this.mapped.delete(buf.provider);
          const w = this.unmapWaiters.get(buf.provider);
          if (w !== undefined) {
            this.unmapWaiters.delete(buf.provider);
            queueMicrotask(w);
          }
        }
      }
      const r = this.deps.p2pdma.freeSgl(buf.provider, buf.sgl);
      if (!r.ok) this.deps.log.error(`p2pmem free on ${buf.provider.bdf} failed: ${r.error.message}`);
    } else if (buf.dram !== null) {
      this.outstandingSystem--;
      this.deps.dram.free(buf.dram);
    }
  }

  /**
   * The memory region behind `bytes` when it is (a view at the start of) a live
   * staging buffer; otherwise `bytes` itself as main-thread-only system memory.
   */
  regionOf(bytes: Uint8Array): MemoryRegion {
    const b = (bytes as TaggedView)[STAGED];
    if (b !== undefined && b.owner === this) return b.region;
    return { memory: bytes, offset: 0, length: bytes.length, owner: DRAM };
  }

  /**
   * The importer's half of move_notify: every live buffer in `provider`'s p2pmem is
   * revoked (no new DMA may use it; its command completes with a retryable status), and
   * the promise resolves once the last of them is released, i.e. nothing is mapped.
   */
  revoke(provider: PciFunction): Promise<void> {
    const set = this.mapped.get(provider);
    if (set === undefined || set.size === 0) return Promise.resolve();
    for (const b of set) {
      if (!b.revoked) this.revokedBuffers++;
      b.revoked = true;
    }
    return new Promise<void>((resolve) => {
      const prev = this.unmapWaiters.get(provider);
      this.unmapWaiters.set(provider, () => {
        prev?.();
        resolve();
      });
    });
  }

  /** Live p2pmem buffers of a provider. */
  mappedCount(provider: PciFunction): number {
    return this.mapped.get(provider)?.size ?? 0;
  }

  /** The staging buffer behind `bytes`, if it is a live one of this allocator. */
  bufferOf(bytes: Uint8Array): StagedBuffer | undefined {
    const b = (bytes as TaggedView)[STAGED];
    return b !== undefined && b.owner === this ? b : undefined;
  }

  countersOf(bdf: string): ProviderCounters {
    let c = this.counters.get(bdf);
    if (c === undefined) {
      c = { allocations: 0, fallbacks: 0 };
      this.counters.set(bdf, c);
    }
    return c;
  }

  private logFallback(portId: number, bdf: string, len: number, why: string): void {
    // One line per second at most: exhaustion under load would otherwise flood the log.
    const now = performance.now();
    if (now - this.lastFallbackLog < 1000) return;
    this.lastFallbackLog = now;
    this.deps.log.warn(`port ${portId}: p2pmem of ${bdf} exhausted for a ${len}-byte command (${why}); staging it in system memory`);
  }
}

/**
 * The NIC moved `bytes` of TCP payload between the wire and a staging buffer in
 * `where` (see StagedBuffer.dataMoved for what that is on the fabric per NIC kind).
 * One function for the main thread's staging and a reactor's (target/reactor).
 */
export function accountNicMove(acc: TrafficAccounting, nic: string | null, nicKind: NicKind | null, where: MemoryOwner, bytes: number, dir: DataDir, digest: boolean): void {
  if (nic === null) return;
  if (nicKind === 'tcp-ddp') {
    if (dir === DataDir.H2C) acc.record(nic, where, bytes);
    else if (dir === DataDir.C2H) acc.record(where, nic, bytes);
    return;
  }
  if (dir === DataDir.H2C) {
    acc.record(nic, DRAM, bytes);
    acc.recordCpuCopy(DRAM, where, bytes);
    if (digest) acc.recordCpuDigest(where, bytes);
  } else if (dir === DataDir.C2H) {
    if (digest) acc.recordCpuDigest(where, bytes);
    if (where !== DRAM) acc.recordCpuCopy(where, DRAM, bytes);
    acc.record(DRAM, nic, bytes);
  }
}
