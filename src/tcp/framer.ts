/**
 * Streaming PDU framer: fed socket chunks in any split, it reports each PDU as
 * (header view, data) to a sink.
 *
 *  - Headers are parsed in place in the socket chunk; only a header straddling
 *    chunks is assembled in a small scratch buffer reused for every PDU.
 *  - The common header is validated (incl. PLEN against the negotiated limits)
 *    as soon as its 8 bytes are in, before any further byte is accepted.
 *  - Data is, at the sink's choice per PDU: handed over as (chunk, start, end)
 *    pieces (no copy), copied straight into a destination the sink supplies (the
 *    request's staging buffer: that copy is the model's NIC DMA), or discarded.
 *    A destination can also be filled in place by the socket read itself
 *    (`directView` / `placed`; see RxPlacement).
 *  - The data digest is checked incrementally; the sink learns the verdict at the end.
 *
 * Sink callbacks run synchronously; a sink may mutate the context (e.g. enable
 * digests after ICReq) or call `stop()` from inside any of them.
 */

import { CH_LEN, DIGEST_LEN, Fes, MAX_HLEN } from './constants.js';
import { crc32cData, headerDigestOk, readDigest } from './digest.js';
import type { PduLayout, PduRxContext } from './validate.js';
import { createPduLayout, PduError, validateCommonHeader } from './validate.js';

export interface PduSink {
  /**
   * A validated header (with its header digest verified): h[off, off + pdu.hlen).
   * The view is only valid during the call. Choose where the data goes by calling
   * `framer.receiveInto()` / `framer.discardData()`; default: `onPduData` pieces.
   */
  onPduHeader(h: Uint8Array, off: number, pdu: PduLayout): void;
  /** A piece of the current PDU's data, chunk[start, end) (valid during the call). */
  onPduData(chunk: Uint8Array, start: number, end: number): void;
  /** The PDU is complete. `ddgstOk` is false only when a data digest mismatched. */
  onPduEnd(pdu: PduLayout, ddgstOk: boolean): void;
  /** Fatal framing error; the framer is stopped. `h[off, off+len)` is the offending header so far. */
  onPduError(err: PduError, h: Uint8Array, off: number, len: number): void;
}

const enum St {
  Ch,
  Header,
  Pad,
  Data,
  Ddgst,
  Dead,
}

const enum DataMode {
  Views,
  Copy,
  Discard,
}

export class PduFramer {
  /** The PDU being received; reused. */
  readonly pdu: PduLayout = createPduLayout();
  private readonly scratch = new Uint8Array(MAX_HLEN + DIGEST_LEN);
  private st = St.Ch;
  /** Bytes collected in scratch (header) or of the current stage (pad/data/digest). */
  private have = 0;
  private mode = DataMode.Views;
  private dest: Uint8Array | null = null;
  private destOff = 0;
  private crc = 0;
  private readonly ddgstBuf = new Uint8Array(DIGEST_LEN);
  /** PDUs completed so far: a receiver's watchdog compares it over time to find a stalled PDU. */
  pdusDone = 0;

  constructor(
    readonly ctx: PduRxContext,
    private readonly sink: PduSink,
  ) {}

  /** Deliver the current PDU's data by copying it into dest[off, off + dataLen). */
  receiveInto(dest: Uint8Array, off: number): void {
    if (off < 0 || dest.length - off < this.pdu.dataLen) throw new RangeError('destination too small for PDU data');
    this.mode = DataMode.Copy;
    this.dest = dest;
    this.destOff = off;
  }

  /**
   * Zero-copy placement. While the current PDU's data goes to a destination
   * (`receiveInto`) and at least `min` bytes of it are still to come: the view of
   * the destination those bytes belong to, else null. The caller may have the
   * socket read straight into it — the kernel's copy then is the one copy — and
   * must report what landed with `placed(n)` before pushing anything else.
   */
  directView(min: number): Uint8Array | null {
    if (this.st !== St.Data || this.mode !== DataMode.Copy) return null;
    const left = this.pdu.dataLen - this.have;
    if (left < min || left === 0) return null;
    const at = this.destOff + this.have;
    return this.dest!.subarray(at, at + left);
  }

  /** `n` bytes of the current PDU's data landed in place (in the view `directView` returned). */
  placed(n: number): void {
    if (this.st !== St.Data || this.mode !== DataMode.Copy || n < 0 || n > this.pdu.dataLen - this.have) {
      throw new RangeError('placed(): no destination awaiting that much data');
    }
    this.have += n;
    if (this.have === this.pdu.dataLen) this.enterDdgst();
  }

  /** Drop the current PDU's data (it is still consumed and its digest still checked). */
  discardData(): void {
    this.mode = DataMode.Discard;
    this.dest = null;
  }

  /** Ignore all further input (after a fatal error or connection teardown). */
  stop(): void {
    this.st = St.Dead;
    this.dest = null;
  }

  get stopped(): boolean {
    return this.st === St.Dead;
  }

  /** True between PDUs (no partial PDU buffered). */
  get idle(): boolean {
    return this.st === St.Ch && this.have === 0;
  }

  /** Feed one socket chunk: chunk[0, end) (default: all of it). */
  push(chunk: Uint8Array, end = chunk.length): void {
    let pos = 0;
    while (pos < end) {
      switch (this.st) {
        case St.Dead:
          return;
        case St.Ch: {
          if (this.have === 0 && end - pos >= CH_LEN) {
            if (!this.validate(chunk, pos)) return;
            const need = this.pdu.headerLen;
            if (end - pos >= need) {
              const h = pos;
              pos += need;
              this.headerDone(chunk, h);
            } else {
              this.scratch.set(chunk.subarray(pos, end), 0);
              this.have = end - pos;
              pos = end;
              this.st = St.Header;
            }
          } else {
            const n = Math.min(CH_LEN - this.have, end - pos);
            for (let i = 0; i < n; i++) this.scratch[this.have + i] = chunk[pos + i]!;
            this.have += n;
            pos += n;
            if (this.have === CH_LEN) {
              if (!this.validate(this.scratch, 0)) return;
              this.st = St.Header;
              if (this.pdu.headerLen === CH_LEN) this.headerDone(this.scratch, 0);
            }
          }
          break;
        }
        case St.Header: {
          const n = Math.min(this.pdu.headerLen - this.have, end - pos);
          this.scratch.set(chunk.subarray(pos, pos + n), this.have);
          this.have += n;
          pos += n;
          if (this.have === this.pdu.headerLen) this.headerDone(this.scratch, 0);
          break;
        }
        case St.Pad: {
          const n = Math.min(this.pdu.padLen - this.have, end - pos);
          this.have += n;
          pos += n;
          if (this.have === this.pdu.padLen) this.enterData();
          break;
        }
        case St.Data: {
          const n = Math.min(this.pdu.dataLen - this.have, end - pos);
          this.dataPiece(chunk, pos, pos + n);
          this.have += n;
          pos += n;
          if (this.have === this.pdu.dataLen && this.st === St.Data) this.enterDdgst();
          break;
        }
        case St.Ddgst: {
          const n = Math.min(DIGEST_LEN - this.have, end - pos);
          for (let i = 0; i < n; i++) this.ddgstBuf[this.have + i] = chunk[pos + i]!;
          this.have += n;
          pos += n;
          if (this.have === DIGEST_LEN) this.finish(readDigest(this.ddgstBuf, 0) === this.crc);
          break;
        }
      }
    }
  }

  private validate(b: Uint8Array, o: number): boolean {
    const err = validateCommonHeader(b, o, this.ctx, this.pdu);
    if (err === null) return true;
    this.fail(err, b, o, CH_LEN);
    return false;
  }

  private fail(err: PduError, b: Uint8Array, o: number, len: number): void {
    this.st = St.Dead;
    this.dest = null;
    this.sink.onPduError(err, b, o, len);
  }

  private headerDone(h: Uint8Array, o: number): void {
    const p = this.pdu;
    if (p.hdgstLen !== 0 && !headerDigestOk(h, o, p.hlen)) {
      this.fail(new PduError(Fes.HeaderDigestError, 0, 'header digest mismatch'), h, o, p.hlen);
      return;
    }
    this.mode = DataMode.Views;
    this.dest = null;
    this.crc = 0;
    this.have = 0;
    this.st = St.Pad;
    this.sink.onPduHeader(h, o, p);
    if (this.st !== St.Pad) return; // stopped by the sink
    if (p.padLen === 0) this.enterData();
  }

  private enterData(): void {
    this.have = 0;
    this.st = St.Data;
    if (this.pdu.dataLen === 0) this.enterDdgst();
  }

  private dataPiece(chunk: Uint8Array, start: number, stop: number): void {
    if (start === stop) return;
    switch (this.mode) {
      case DataMode.Copy: {
        // the one copy: socket bytes straight into the staging buffer
        this.dest!.set(chunk.subarray(start, stop), this.destOff + this.have);
        break;
      }
      case DataMode.Views:
        if (this.pdu.ddgstLen !== 0) this.crc = crc32cData(chunk.subarray(start, stop), this.crc);
        this.sink.onPduData(chunk, start, stop);
        break;
      case DataMode.Discard:
        if (this.pdu.ddgstLen !== 0) this.crc = crc32cData(chunk.subarray(start, stop), this.crc);
        break;
    }
  }

  private enterDdgst(): void {
    const p = this.pdu;
    if (p.ddgstLen === 0) {
      this.finish(true);
      return;
    }
    if (this.mode === DataMode.Copy && p.dataLen > 0) {
      // one native pass over the landed data instead of one per socket chunk
      this.crc = crc32cData(this.dest!.subarray(this.destOff, this.destOff + p.dataLen), 0);
    }
    this.have = 0;
    this.st = St.Ddgst;
  }

  private finish(ddgstOk: boolean): void {
    this.pdusDone++;
    this.st = St.Ch;
    this.have = 0;
    this.dest = null;
    this.sink.onPduEnd(this.pdu, ddgstOk);
  }
}
