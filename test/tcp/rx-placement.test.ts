import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32cData, createRxContext, encodeC2HData, encodeCapsuleResp, PduFramer, PduRole, PduType, writeDigest } from '../../src/tcp/index.js';
import type { PduError, PduLayout, PduSink } from '../../src/tcp/index.js';
import { RxPlacement } from '../../src/tcp/rx-placement.js';

/** A host-side sink: C2HData payload goes to per-CID destinations (receiveInto), like the initiator. */
class Host implements PduSink {
  framer!: PduFramer;
  readonly dest = new Map<number, Uint8Array>();
  readonly ends: { type: number; cid: number; ok: boolean }[] = [];
  errors = 0;
  private cid = 0;
  onPduHeader(h: Uint8Array, off: number, pdu: PduLayout): void {
    // C2HData CCCID at 8; CapsuleResp: the CQE's CID at 8 + 12
    const at = pdu.type === PduType.CapsuleResp ? off + 20 : off + 8;
    this.cid = h[at]! | (h[at + 1]! << 8);
    if (pdu.type === PduType.C2HData) {
      const datao = Buffer.from(h.subarray(off + 12, off + 16)).readUInt32LE(0);
      this.framer.receiveInto(this.dest.get(this.cid)!, datao);
    }
  }
  onPduData(): void {}
  onPduEnd(pdu: PduLayout, ok: boolean): void {
    this.ends.push({ type: pdu.type, cid: this.cid, ok });
  }
  onPduError(_e: PduError): void {
    this.errors++;
  }
}

function setup(ddgst: boolean): { host: Host; rx: RxPlacement } {
  const host = new Host();
  host.framer = new PduFramer(createRxContext(PduRole.Host, { icDone: true, ddgst }), host);
  return { host, rx: new RxPlacement(host.framer, { bufferSize: 16 * 1024, directMin: 2048, headerWindow: 1024 }) };
}

/** C2HData PDUs of `len` bytes (split into `pdus` PDUs) for `cid`, each followed by nothing; then a CapsuleResp. */
function stream(cmds: { cid: number; data: Buffer; pdus: number }[], ddgst: boolean, corruptCid = -1): Buffer {
  const parts: Buffer[] = [];
  for (const c of cmds) {
    const step = Math.ceil(c.data.length / c.pdus);
    for (let at = 0; at < c.data.length; at += step) {
      const n = Math.min(step, c.data.length - at);
      const h = Buffer.alloc(24);
      encodeC2HData(h, 0, c.cid, at, n, at + n === c.data.length ? 0x04 : 0, false, ddgst, 0);
      parts.push(h, c.data.subarray(at, at + n));
      if (ddgst) {
        const d = Buffer.alloc(4);
        writeDigest(d, 0, crc32cData(c.data.subarray(at, at + n)) ^ (c.cid === corruptCid ? 1 : 0));
        parts.push(d);
      }
    }
    const r = Buffer.alloc(24);
    const cqe = Buffer.alloc(16);
    cqe.writeUInt16LE(c.cid, 12);
    encodeCapsuleResp(r, 0, cqe, 0, false);
    parts.push(r);
  }
  return Buffer.concat(parts);
}

/** Feed `wire` as a socket would: each read lands in the memory `next()` chose, at most `sizes[i]` bytes. */
function pump(rx: RxPlacement, wire: Buffer, sizes: number[]): void {
  let at = 0;
  for (let i = 0; at < wire.length; i++) {
    const buf = rx.next();
    const n = Math.min(buf.length, wire.length - at, sizes[i % sizes.length]!);
    wire.copy(buf as Buffer, 0, at, at + n);
    at += n;
    rx.landed(n, buf);
  }
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 9)) & 0xff;
  return b;
}

describe('RxPlacement (large payloads read in place)', () => {
  it('lands every payload byte correctly whatever the read sizes, with and without data digests', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 12 }),
        (ddgst, lens, sizes) => {
          const { host, rx } = setup(ddgst);
          const cmds = lens.map((len, i) => ({ cid: i, data: pattern(len, i), pdus: 1 + (len % 3) }));
          for (const c of cmds) host.dest.set(c.cid, new Uint8Array(c.data.length));
          const wire = stream(cmds, ddgst);
          pump(rx, wire, sizes);
          expect(host.errors).toBe(0);
          for (const c of cmds) expect(Buffer.from(host.dest.get(c.cid)!).equals(c.data)).toBe(true);
          expect(host.ends.filter((e) => e.type === PduType.CapsuleResp).map((e) => e.cid)).toEqual(cmds.map((c) => c.cid));
          expect(host.ends.every((e) => e.ok)).toBe(true);
          expect(rx.placedBytes + rx.copiedBytes).toBe(wire.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads most of a large payload in place and takes only a short window after it', () => {
    const { host, rx } = setup(false);
    const cmds = Array.from({ length: 8 }, (_, i) => ({ cid: i, data: pattern(128 * 1024, i), pdus: 1 }));
    for (const c of cmds) host.dest.set(c.cid, new Uint8Array(c.data.length));
    const wire = stream(cmds, false);
    const sizes: number[] = [];
    let at = 0;
    // a socket that always has everything ready: reads are as large as the memory offered
    while (at < wire.length) {
      const buf = rx.next();
      const n = Math.min(buf.length, wire.length - at);
      sizes.push(buf.length);
      wire.copy(buf as Buffer, 0, at, at + n);
      at += n;
      rx.landed(n, buf);
    }
    for (const c of cmds) expect(Buffer.from(host.dest.get(c.cid)!).equals(c.data)).toBe(true);
    // first read: the whole buffer; after that, a 1 KiB window then the rest of the payload in place
    expect(rx.copiedBytes).toBeLessThan(16 * 1024 + 8 * 1024);
    expect(rx.placedBytes).toBeGreaterThan(wire.length - 24 * 1024);
    expect(sizes.filter((s) => s === 1024).length).toBeGreaterThanOrEqual(6);
  });

  it('still detects a data digest mismatch on an in-place payload', () => {
    const { host, rx } = setup(true);
    const cmds = [
      { cid: 1, data: pattern(100_000, 1), pdus: 1 },
      { cid: 2, data: pattern(100_000, 2), pdus: 1 },
    ];
    for (const c of cmds) host.dest.set(c.cid, new Uint8Array(c.data.length));
    pump(rx, stream(cmds, true, 2), [65536]);
    expect(rx.placedBytes).toBeGreaterThan(100_000);
    const data = host.ends.filter((e) => e.type === PduType.C2HData);
    expect(data.map((e) => [e.cid, e.ok])).toEqual([
      [1, true],
      [2, false],
    ]);
  });

  it('never places small payloads or data the sink did not direct (views, discard)', () => {
    const { host, rx } = setup(false);
    const cmds = Array.from({ length: 40 }, (_, i) => ({ cid: i, data: pattern(1500, i), pdus: 1 }));
    for (const c of cmds) host.dest.set(c.cid, new Uint8Array(c.data.length));
    pump(rx, stream(cmds, false), [3000]);
    expect(rx.placedBytes).toBe(0);
    for (const c of cmds) expect(Buffer.from(host.dest.get(c.cid)!).equals(c.data)).toBe(true);
  });

  it('placed() refuses more than the current PDU expects', () => {
    const { host, rx } = setup(false);
    host.dest.set(7, new Uint8Array(50_000));
    const wire = stream([{ cid: 7, data: pattern(50_000, 7), pdus: 1 }], false);
    const first = rx.next();
    wire.copy(first as Buffer, 0, 0, 1000);
    rx.landed(1000, first);
    const v = rx.next();
    expect(v.length).toBe(50_000 - (1000 - 24));
    expect(() => host.framer.placed(v.length + 1)).toThrow(RangeError);
  });
});
