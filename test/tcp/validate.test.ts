import { describe, expect, it } from 'vitest';
import {
  createPduLayout,
  createRxContext,
  Fes,
  PduRole,
  validateCommonHeader,
} from '../../src/tcp/index.js';
import type { PduRxContext } from '../../src/tcp/index.js';

function ch(type: number, flags: number, hlen: number, pdo: number, plen: number): Uint8Array {
  const b = Buffer.alloc(8);
  b[0] = type;
  b[1] = flags;
  b[2] = hlen;
  b[3] = pdo;
  b.writeUInt32LE(plen >>> 0, 4);
  return b;
}

const ctl = (over: Partial<PduRxContext> = {}): PduRxContext =>
  createRxContext(PduRole.Controller, { icDone: true, maxCapsuleData: 16384, maxH2CData: 131072, ...over });
const host = (over: Partial<PduRxContext> = {}): PduRxContext => createRxContext(PduRole.Host, { icDone: true, ...over });

type Row = [name: string, hdr: Uint8Array, ctx: PduRxContext, fes: number | null, fei: number, silent?: boolean];

const FES = Fes;
const rows: Row[] = [
  // accepted
  ['ICReq before IC', ch(0, 0, 128, 0, 128), ctl({ icDone: false }), null, 0],
  ['CapsuleCmd no data', ch(4, 0, 72, 0, 72), ctl(), null, 0],
  ['CapsuleCmd 4 KiB data', ch(4, 0, 72, 72, 72 + 4096), ctl(), null, 0],
  ['CapsuleCmd hd+dd', ch(4, 3, 72, 76, 76 + 4096 + 4), ctl({ hdgst: true, ddgst: true }), null, 0],
  ['CapsuleCmd no data, dd negotiated, no DDGSTF', ch(4, 0, 72, 0, 72), ctl({ ddgst: true }), null, 0],
  ['H2CData at MAXH2CDATA', ch(6, 4, 24, 24, 24 + 131072), ctl(), null, 0],
  ['H2CTermReq with header', ch(2, 0, 24, 0, 24 + 72), ctl(), null, 0],
  ['H2CTermReq before ICReq', ch(2, 0, 24, 0, 24), ctl({ icDone: false }), null, 0],
  ['host: C2HTermReq answering ICReq', ch(3, 0, 24, 0, 24 + 8), host({ icDone: false }), null, 0],
  ['host: C2HData SUCCESS|LAST', ch(7, 0x0c, 24, 24, 24 + 512), host(), null, 0],
  ['host: R2T', ch(9, 0, 24, 0, 24), host(), null, 0],
  ['host: ICResp before IC', ch(1, 0, 128, 0, 128), host({ icDone: false }), null, 0],
  // Invalid Header Field, FEI = byte offset of the field
  ['unknown type 0x0a', ch(0x0a, 0, 24, 0, 24), ctl(), FES.InvalidHeaderField, 0],
  ['type 0xff', ch(0xff, 0, 24, 0, 24), ctl(), FES.InvalidHeaderField, 0],
  ['controller receives C2HData', ch(7, 0, 24, 0, 24), ctl(), FES.InvalidHeaderField, 0],
  ['host receives CapsuleCmd', ch(4, 0, 72, 0, 72), host(), FES.InvalidHeaderField, 0],
  ['LAST_PDU on CapsuleCmd', ch(4, 4, 72, 0, 72), ctl(), FES.InvalidHeaderField, 1],
  ['flags on ICReq', ch(0, 1, 128, 0, 128), ctl({ icDone: false }), FES.InvalidHeaderField, 1],
  ['HDGSTF missing with hdgst', ch(4, 0, 72, 0, 72), ctl({ hdgst: true }), FES.InvalidHeaderField, 1],
  ['HDGSTF without hdgst', ch(4, 1, 72, 0, 76), ctl(), FES.InvalidHeaderField, 1],
  ['DDGSTF without ddgst', ch(4, 2, 72, 72, 72 + 8), ctl(), FES.InvalidHeaderField, 1],
  ['DDGSTF missing on data with ddgst', ch(6, 4, 24, 24, 24 + 16), ctl({ ddgst: true }), FES.InvalidHeaderField, 1],
  ['host: SUCCESS without LAST_PDU', ch(7, 0x08, 24, 24, 40), host(), FES.InvalidHeaderField, 1],
  ['ICReq hlen 127', ch(0, 0, 127, 0, 128), ctl({ icDone: false }), FES.InvalidHeaderField, 2],
  ['CapsuleCmd hlen 24', ch(4, 0, 24, 0, 24), ctl(), FES.InvalidHeaderField, 2],
  ['H2CData hlen 72', ch(6, 0, 72, 0, 72), ctl(), FES.InvalidHeaderField, 2],
  ['ICReq pdo 8', ch(0, 0, 128, 8, 128), ctl({ icDone: false }), FES.InvalidHeaderField, 3],
  ['CapsuleCmd pdo inside header', ch(4, 0, 72, 64, 72 + 16), ctl(), FES.InvalidHeaderField, 3],
  ['CapsuleCmd pdo 0 with data', ch(4, 0, 72, 0, 72 + 16), ctl(), FES.InvalidHeaderField, 3],
  ['CapsuleCmd pdo past plen', ch(4, 0, 72, 80, 76), ctl(), FES.InvalidHeaderField, 3],
  ['CapsuleCmd pdo not CPDA aligned', ch(4, 0, 72, 76, 76 + 16), ctl({ rxPda: 3 }), FES.InvalidHeaderField, 3],
  ['CapsuleCmd pdo 72 w/ hdgst (must be ≥76)', ch(4, 1, 72, 72, 72 + 16), ctl({ hdgst: true }), FES.InvalidHeaderField, 3],
  ['host: R2T with pdo', ch(9, 0, 24, 24, 24), host(), FES.InvalidHeaderField, 3],
  ['ICReq plen 132', ch(0, 0, 128, 0, 132), ctl({ icDone: false }), FES.InvalidHeaderField, 4],
  ['CapsuleCmd plen < hlen', ch(4, 0, 72, 0, 70), ctl(), FES.InvalidHeaderField, 3],
  ['data too short for DDGST', ch(6, 2, 24, 24, 26), ctl({ ddgst: true }), FES.InvalidHeaderField, 4],
  ['host: CapsuleResp plen 40', ch(5, 0, 24, 0, 40), host(), FES.InvalidHeaderField, 4],
  // PDU Sequence Error
  ['CapsuleCmd before ICReq', ch(4, 0, 72, 0, 72), ctl({ icDone: false }), FES.PduSequenceError, 0],
  ['H2CData before ICReq', ch(6, 0, 24, 0, 24), ctl({ icDone: false }), FES.PduSequenceError, 0],
  ['second ICReq', ch(0, 0, 128, 0, 128), ctl(), FES.PduSequenceError, 0],
  // Data Transfer Limit Exceeded (from the 8-byte header alone)
  ['H2CData over MAXH2CDATA', ch(6, 4, 24, 24, 24 + 131073), ctl(), FES.DataLimitExceeded, 0],
  ['CapsuleCmd 4 GiB plen', ch(4, 0, 72, 72, 0xffff_ffff), ctl(), FES.DataLimitExceeded, 0],
  ['H2CData 4 GiB plen', ch(6, 4, 24, 24, 0xffff_ffff), ctl(), FES.DataLimitExceeded, 0],
  ['in-capsule over limit', ch(4, 0, 72, 72, 72 + 16385), ctl(), FES.DataLimitExceeded, 0],
  // invalid TermReq length: close silently
  ['H2CTermReq plen 20', ch(2, 0, 24, 0, 20), ctl(), FES.InvalidHeaderField, 4, true],
  ['H2CTermReq plen 153', ch(2, 0, 24, 0, 153), ctl(), FES.InvalidHeaderField, 4, true],
];

describe('validateCommonHeader', () => {
  it.each(rows)('%s', (_name, hdr, ctx, fes, fei, silent) => {
    const out = createPduLayout();
    const err = validateCommonHeader(hdr, 0, ctx, out);
    if (fes === null) {
      expect(err).toBeNull();
      return;
    }
    expect(err).not.toBeNull();
    expect({ fes: err!.fes, fei: err!.fei, silent: err!.silent }).toEqual({ fes, fei, silent: silent ?? false });
  });

  it('lays out a digested, padded PDU', () => {
    const out = createPduLayout();
    expect(validateCommonHeader(ch(4, 3, 72, 96, 96 + 4096 + 4), 0, ctl({ hdgst: true, ddgst: true, rxPda: 7 }), out)).toBeNull();
    expect(out).toMatchObject({ headerLen: 76, padLen: 20, dataLen: 4096, ddgstLen: 4, hdgstLen: 4 });
  });
});
