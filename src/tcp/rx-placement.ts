/**
 * Where the next socket read lands (for a socket built with `onread` and a
 * buffer function), so large PDU payloads are copied once, by the kernel:
 *
 *  - while the framer's current PDU still expects at least `directMin` payload
 *    bytes for a destination, the read goes straight into that destination
 *    (`PduFramer.directView`);
 *  - right after such a read the stream is carrying large payloads, so the next
 *    read takes only a short window: the next header(s) and the start of the next
 *    payload, leaving the rest of it for an in-place read;
 *  - otherwise the whole receive buffer (many small PDUs per read).
 *
 * Nothing read into the receive buffer outlives `landed()`: the framer parses
 * headers in place and copies payload out during the call.
 */

import type { PduFramer } from './framer.js';

export interface RxPlacementOptions {
  /** Receive buffer size. */
  bufferSize: number;
  /** Payload still to come of at least this many bytes is read in place. */
  directMin: number;
  /** Read size right after an in-place read. */
  headerWindow: number;
}

export const DEFAULT_RX_PLACEMENT: RxPlacementOptions = {
  // Not larger: a bigger buffer swallows more of a large payload before the in-place
  // read takes over (tried 128 KiB: in-place share of pipelined 128 KiB-1 MiB reads fell below half).
  bufferSize: 64 * 1024,
  directMin: 8 * 1024,
  headerWindow: 4 * 1024,
};

export class RxPlacement {
  readonly buffer: Buffer;
  private readonly window: Buffer;
  private readonly directMin: number;
  /** The destination view handed out for the next read, if any. */
  private direct: Uint8Array | null = null;
  private lastDirect = false;
  /** Bytes read in place / through the receive buffer (diagnostics). */
  placedBytes = 0;
  copiedBytes = 0;

  constructor(
    private readonly framer: PduFramer,
    o: RxPlacementOptions = DEFAULT_RX_PLACEMENT,
  ) {
    this.buffer = Buffer.allocUnsafeSlow(o.bufferSize);
    this.window = this.buffer.subarray(0, Math.min(o.bufferSize, Math.max(256, o.headerWindow)));
    this.directMin = Math.max(1, o.directMin);
  }

  /** The memory the next read should land in (onread `buffer` function). */
  next(): Uint8Array {
    const v = this.framer.directView(this.directMin);
    this.direct = v;
    if (v !== null) return v;
    return this.lastDirect ? this.window : this.buffer;
  }

  /** `n` bytes landed in `buf` (the memory `next()` returned, or a buffer set up before it was first asked). */
  landed(n: number, buf: Uint8Array): void {
    if (buf === this.direct && buf !== null) {
      this.direct = null;
      this.lastDirect = true;
      this.placedBytes += n;
      if (!this.framer.stopped) this.framer.placed(n);
      return;
    }
    this.lastDirect = false;
    this.copiedBytes += n;
    this.framer.push(buf, n);
  }
}
