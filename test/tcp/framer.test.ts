import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  crc32cData,
  createRxContext,
  encodeC2HData,
  encodeCapsuleCmd,
  encodeCapsuleResp,
  encodeH2CData,
  encodeICReq,
  encodeR2T,
  encodeTermReq,
  Fes,
  PduFramer,
  PduRole,
  PduType,
  writeDigest,
} from '../../src/tcp/index.js';
import type { PduError, PduLayout, PduRxContext, PduSink } from '../../src/tcp/index.js';

interface Ev {
  kind: 'pdu' | 'error';
  header?: string;
  data?: string;
  ddgstOk?: boolean;
  fes?: number;
  fei?: number;
}

/** A sink recording every PDU; mimics a controller enabling digests after ICReq. */
class Recorder implements PduSink {
  events: Ev[] = [];
  framer!: PduFramer;
  private header = '';
  private data: number[] = [];
  private dest: Uint8Array | null = null;
  constructor(
    private readonly copyMode: boolean,
    private readonly afterIc: Partial<PduRxContext> = {},
  ) {}
  onPduHeader(h: Uint8Array, off: number, pdu: PduLayout): void {
    this.header = Buffer.from(h.subarray(off, off + pdu.hlen)).toString('hex');
    this.data = [];
    this.dest = null;
    if (this.copyMode && pdu.dataLen > 0) {
      this.dest = new Uint8Array(pdu.dataLen + 3);
      this.framer.receiveInto(this.dest, 3);
    }
  }
  onPduData(chunk: Uint8Array, start: number, end: number): void {
    for (let i = start; i < end; i++) this.data.push(chunk[i]!);
  }
  onPduEnd(pdu: PduLayout, ddgstOk: boolean): void {
    const data = this.dest ? Buffer.from(this.dest.subarray(3)).toString('hex') : Buffer.from(this.data).toString('hex');
    this.events.push({ kind: 'pdu', header: this.header, data, ddgstOk });
    if (pdu.type === PduType.ICReq) Object.assign(this.framer.ctx, { icDone: true }, this.afterIc);
  }
  onPduError(err: PduError, h: Uint8Array, off: number, len: number): void {
    this.events.push({ kind: 'error', fes: err.fes, fei: err.fei, header: Buffer.from(h.subarray(off, off + len)).toString('hex') });
  }
}

function pattern(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

/** A host→controller stream: ICReq, then digested, CPDA-padded PDUs with data. */
function hostStream(corruptDdgstOf = -1): Uint8Array {
  const parts: Uint8Array[] = [];
  const ic = new Uint8Array(128);
  encodeICReq(ic, 0, { pfv: 0, hpda: 0, hdgst: true, ddgst: true, maxr2t: 0 });
  parts.push(ic);
  const pda = 1; // 8-byte alignment
  const sqe = pattern(64, 1);
  let n = 0;
  const withData = (hdrLen: number, h: Uint8Array, data: Uint8Array): void => {
    parts.push(h.subarray(0, hdrLen), data);
    const d = new Uint8Array(4);
    writeDigest(d, 0, crc32cData(data) ^ (n === corruptDdgstOf ? 1 : 0));
    parts.push(d);
    n++;
  };
  const h = new Uint8Array(200);
  parts.push(h.slice(0, encodeCapsuleCmd(h, 0, sqe, 0, 0, true, true, pda)));
  withData(encodeCapsuleCmd(h, 0, sqe, 0, 1000, true, true, pda), h.slice(), pattern(1000, 2));
  withData(encodeH2CData(h, 0, 7, 3, 0, 4096, false, true, true, pda), h.slice(), pattern(4096, 3));
  withData(encodeH2CData(h, 0, 7, 3, 4096, 5, true, true, true, pda), h.slice(), pattern(5, 4));
  parts.push(h.slice(0, encodeCapsuleCmd(h, 0, pattern(64, 9), 0, 0, true, true, pda)));
  const t = new Uint8Array(200);
  parts.push(t.slice(0, encodeTermReq(t, 0, PduType.H2CTermReq, Fes.PduSequenceError, 0, pattern(72, 5), 0, 72)));
  return Buffer.concat(parts);
}

const CTX = (): PduRxContext => createRxContext(PduRole.Controller, { rxPda: 1, maxCapsuleData: 8192, maxH2CData: 8192 });

function run(stream: Uint8Array, cuts: number[], copyMode = false, ctx = CTX()): Ev[] {
  const rec = new Recorder(copyMode, { hdgst: true, ddgst: true });
  const f = new PduFramer(ctx, rec);
  rec.framer = f;
  let prev = 0;
  for (const c of [...cuts, stream.length]) {
    // a fresh copy per chunk: the framer must not rely on chunks staying around
    f.push(Uint8Array.from(stream.subarray(prev, c)));
    prev = c;
  }
  return rec.events;
}

describe('PduFramer', () => {
  const stream = hostStream();
  const whole = run(stream, []);

  it('decodes a whole stream: headers, data, digests', () => {
    expect(whole.map((e) => e.kind)).toEqual(Array(7).fill('pdu'));
    expect(whole.every((e) => e.ddgstOk)).toBe(true);
    expect(whole[2]!.data).toBe(Buffer.from(pattern(1000, 2)).toString('hex'));
    expect(whole[3]!.data).toBe(Buffer.from(pattern(4096, 3)).toString('hex'));
    expect(whole[6]!.header!.slice(0, 2)).toBe('02');
    expect(whole[6]!.data).toBe(Buffer.from(pattern(72, 5)).toString('hex'));
  });

  it('byte-by-byte feeding yields identical PDUs', () => {
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(run(stream, cuts)).toEqual(whole);
    expect(run(stream, cuts, true)).toEqual(whole);
  });

  it('random chunkings yield identical PDUs (views and copy-into-destination)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 60 }), fc.boolean(), (cuts, copy) => {
        cuts.sort((a, b) => a - b);
        expect(run(stream, cuts, copy)).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('reports a data digest mismatch per PDU without losing sync', () => {
    const ev = run(hostStream(1), [5, 300, 301, 4000]);
    expect(ev.map((e) => e.ddgstOk)).toEqual([true, true, true, false, true, true, true]);
    expect(run(hostStream(1), [], true).map((e) => e.ddgstOk)).toEqual([true, true, true, false, true, true, true]);
  });

  it('rejects a corrupted header digest with FES 0x03', () => {
    const s = Uint8Array.from(stream);
    s[128 + 10] ^= 0xff; // inside the first CapsuleCmd SQE
    const ev = run(s, [130]);
    expect(ev).toHaveLength(2);
    expect(ev[1]).toMatchObject({ kind: 'error', fes: Fes.HeaderDigestError });
    expect(ev[1]!.header!.length).toBe(72 * 2);
  });

  it('rejects a hostile 4 GiB PLEN after the 8-byte common header, before any payload', () => {
    const rec = new Recorder(false);
    const ctx = CTX();
    ctx.icDone = true;
    const f = new PduFramer(ctx, rec);
    rec.framer = f;
    const h = Buffer.from('04004848ffffffff', 'hex');
    f.push(h.subarray(0, 5));
    expect(rec.events).toEqual([]);
    f.push(h.subarray(5));
    expect(rec.events).toEqual([{ kind: 'error', fes: Fes.DataLimitExceeded, fei: 0, header: '04004848ffffffff' }]);
    expect(f.stopped).toBe(true);
    f.push(new Uint8Array(1000));
    expect(rec.events).toHaveLength(1);
  });

  it('works as a host receiver (C2HData/R2T/CapsuleResp)', () => {
    const b = new Uint8Array(64);
    const parts: Uint8Array[] = [];
    const resp = Buffer.from(b.subarray(0, encodeCapsuleResp(b, 0, pattern(16, 1), 0, false)));
    const icresp = Buffer.alloc(128);
    icresp[0] = 1;
    icresp[2] = 128;
    icresp.writeUInt32LE(128, 4);
    parts.push(icresp, resp);
    parts.push(Buffer.from(b.subarray(0, encodeR2T(b, 0, 1, 2, 0, 4096, false))));
    parts.push(Buffer.from(b.subarray(0, encodeC2HData(b, 0, 1, 0, 10, 0x0c, false, false, 0))), pattern(10, 7));
    const s = Buffer.concat(parts);
    const events: string[] = [];
    const ctx = createRxContext(PduRole.Host);
    const f = new PduFramer(ctx, {
      onPduHeader: (_h, _o, p) => events.push(`h${p.type}`),
      onPduData: (_c, a, z) => events.push(`d${z - a}`),
      onPduEnd: (p) => {
        events.push(`e${p.type}`);
        ctx.icDone = true;
      },
      onPduError: (e) => events.push(`x${e.fes}`),
    });
    for (let i = 0; i < s.length; i++) f.push(s.subarray(i, i + 1));
    expect(events.join(' ')).toBe(`h1 e1 h5 e5 h9 e9 h7 ${'d1 '.repeat(10)}e7`);
  });

  it('never throws on arbitrary bytes and stops after the first fatal error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), fc.integer({ min: 1, max: 64 }), (bytes, icDone, step) => {
        const ctx = CTX();
        ctx.icDone = icDone;
        ctx.hdgst = !icDone;
        const rec = new Recorder(false);
        const f = new PduFramer(ctx, rec);
        rec.framer = f;
        for (let i = 0; i < bytes.length; i += step) f.push(bytes.subarray(i, i + step));
        const errs = rec.events.filter((e) => e.kind === 'error');
        expect(errs.length).toBeLessThanOrEqual(1);
        if (errs.length === 1) expect(rec.events.at(-1)!.kind).toBe('error');
      }),
      { numRuns: 500 },
    );
  });
});
