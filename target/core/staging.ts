/**
 * Staging buffers: where a command's data sits between the wire and the media
 * (Linux nvmet_req_alloc_sgls / pci_p2pmem_alloc_sgl). The core allocates through
 * this seam so a later allocator can hand out p2pmem (a BAR of an emulated PCI
 * device) instead of system memory, and account the DMA that moves it.
 */

import type { DataDir } from './fabrics-ops.js';
import type { Namespace } from './namespace.js';

/** One allocated staging buffer. `free()` returns it to its pool; call it exactly once. */
export interface StagingBuffer {
  readonly bytes: Uint8Array;
  free(): void;
  /**
   * The transport moved `bytes` of the command's data between the wire and this
   * buffer (the NIC's DMA: into it for H2C, out of it for C2H). Optional: lets a
   * PCIe model account the DMA where the bytes really moved. `digest`: the transport
   * computes a data digest over them in software (a CPU read of the staging buffer).
   */
  dataMoved?(bytes: number, dir: DataDir, digest: boolean): void;
}

/** What an allocator may look at to decide where a request's data goes (p2pmem policy input). */
export interface StagingContext {
  readonly qid: number;
  readonly nsid: number;
  readonly cntlid: number;
  readonly dataDir: DataDir;
  readonly portId: number;
  /** Namespace the command addresses (null for admin and fabrics commands). */
  readonly ns: Namespace | null;
}

export interface StagingAllocator {
  /** A short name for stats and logs ("system", "p2pmem:0000:03:00.0"). */
  readonly name: string;
  /**
   * Allocate `len` bytes (len > 0). Must not throw for lack of memory when a
   * fallback exists: a p2pmem allocator falls back to system memory itself.
   */
  alloc(len: number, ctx: StagingContext): StagingBuffer;
}

/** Smallest pooled size class (bytes). */
const MIN_CLASS_SHIFT = 12;
/** Largest pooled size class: bigger buffers are allocated and dropped. */
const MAX_CLASS_SHIFT = 22;

class PooledBuffer implements StagingBuffer {
  bytes: Uint8Array;
  live = false;
  constructor(
    readonly backing: Uint8Array,
    private readonly owner: SystemStagingAllocator,
    readonly cls: number,
  ) {
    this.bytes = backing;
  }
  free(): void {
    // A double free would hand the same memory to two commands: refuse loudly.
    if (!this.live) throw new Error('staging buffer freed twice');
    this.live = false;
    this.owner.give(this);
  }
}

/**
 * System memory, pooled by power-of-two size class so steady-state I/O does not
 * allocate. Buffers are NOT zeroed on reuse: every consumer writes the bytes it
 * exposes (the core zero-fills admin payloads, backends fill whole reads).
 */
export class SystemStagingAllocator implements StagingAllocator {
  readonly name = 'system';
  private readonly pools: PooledBuffer[][] = [];
  /** Bytes currently handed out (for leak checks in tests). */
  outstandingBytes = 0;
  outstandingBuffers = 0;
  /** Bytes kept in the pools for reuse. */
  pooledBytes = 0;

  /**
   * @param maxPooledBytes  free buffers kept for reuse across all classes; the rest
   *   go back to the garbage collector, so memory a burst of connections needed is
   *   released when they go (target/tcp bounds what is outstanding).
   */
  constructor(
    private readonly maxPooledPerClass = 64,
    private readonly maxPooledBytes = 64 << 20,
  ) {
    for (let s = 0; s <= MAX_CLASS_SHIFT; s++) this.pools.push([]);
  }

  alloc(len: number, _ctx: StagingContext): StagingBuffer {
    let shift = MIN_CLASS_SHIFT;
    while (shift <= MAX_CLASS_SHIFT && 1 << shift < len) shift++;
    let buf: PooledBuffer;
    if (shift > MAX_CLASS_SHIFT) {
      buf = new PooledBuffer(new Uint8Array(len), this, -1);
    } else {
      const pooled = this.pools[shift]!.pop();
      if (pooled !== undefined) this.pooledBytes -= pooled.backing.length;
      buf = pooled ?? new PooledBuffer(new Uint8Array(1 << shift), this, shift);
    }
    buf.bytes = len === buf.backing.length ? buf.backing : buf.backing.subarray(0, len);
    buf.live = true;
    this.outstandingBytes += len;
    this.outstandingBuffers++;
    return buf;
  }

  /** @internal */
  give(b: PooledBuffer): void {
    this.outstandingBytes -= b.bytes.length;
    this.outstandingBuffers--;
    if (b.cls >= 0) {
      const pool = this.pools[b.cls]!;
      if (pool.length < this.maxPooledPerClass && this.pooledBytes + b.backing.length <= this.maxPooledBytes) {
        pool.push(b);
        this.pooledBytes += b.backing.length;
      }
    }
  }
}
