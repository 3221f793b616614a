import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Reg, propertySize, makeVersion, decodeVersion, formatVersion, NVME_VS_1_3, NVME_VS_1_4, NVME_VS_2_0,
  encodeCap, decodeCap, capMqes, capTimeout, CapCss, encodeCc, decodeCc, ccEnabled, ccShn, CcCss, Shn,
  encodeCsts, decodeCsts, Shst, CSTS_RDY, CSTS_CFS, encodeAqa, decodeAqa, NSSR_RESET_VALUE,
} from '../../src/nvme/registers.js';

describe('controller properties', () => {
  it.each([
    ['CAP', Reg.Cap, 0x00, 8],
    ['VS', Reg.Vs, 0x08, 4],
    ['CC', Reg.Cc, 0x14, 4],
    ['CSTS', Reg.Csts, 0x1c, 4],
    ['NSSR', Reg.Nssr, 0x20, 4],
    ['ASQ', Reg.Asq, 0x28, 8],
    ['ACQ', Reg.Acq, 0x30, 8],
  ] as const)('%s offset and size', (_n, off, want, size) => {
    expect(off).toBe(want);
    expect(propertySize(off)).toBe(size);
  });

  it('unknown offsets have no size', () => {
    expect(propertySize(0x18)).toBeUndefined();
    expect(propertySize(0x1000)).toBeUndefined();
    expect(NSSR_RESET_VALUE).toBe(0x4e564d65);
  });

  it.each([
    [1, 3, 0, NVME_VS_1_3, 0x00010300, '1.3'],
    [1, 4, 0, NVME_VS_1_4, 0x00010400, '1.4'],
    [2, 0, 0, NVME_VS_2_0, 0x00020000, '2.0'],
    [1, 2, 1, 0x00010201, 0x00010201, '1.2.1'],
  ])('VS %i.%i.%i', (maj, min, ter, constant, raw, text) => {
    expect(makeVersion(maj, min, ter)).toBe(raw);
    expect(constant).toBe(raw);
    expect(decodeVersion(raw)).toEqual({ major: maj, minor: min, tertiary: ter });
    expect(formatVersion(raw)).toBe(text);
  });

  it('CAP like Linux nvmet: MQES 1023, CQR, TO 15, CSS NVM, MPSMIN 0', () => {
    // nvmet: cap = (1 << 37) | (15 << 24) | 1 << 16 (CQR) | (queue size - 1)
    const cap = encodeCap({ mqes: 1023, cqr: true, to: 15, css: CapCss.Nvm });
    expect(cap).toBe((1n << 37n) | (15n << 24n) | (1n << 16n) | 1023n);
    expect(capMqes(cap)).toBe(1023);
    expect(capTimeout(cap)).toBe(15);
    const d = decodeCap(cap);
    expect(d.css).toBe(1);
    expect(d.cqr).toBe(true);
    expect(d.mpsmin).toBe(0);
    // discovery controller: no I/O command sets
    expect(encodeCap({ css: CapCss.NoIo })).toBe(1n << 44n);
    expect(encodeCap({ mpsmin: 0, mpsmax: 4 })).toBe(4n << 52n);
  });

  it('CAP round trip', () => {
    fc.assert(
      fc.property(
        fc.record({
          mqes: fc.integer({ min: 0, max: 0xffff }), cqr: fc.boolean(), ams: fc.integer({ min: 0, max: 3 }),
          to: fc.integer({ min: 0, max: 255 }), dstrd: fc.integer({ min: 0, max: 15 }), nssrs: fc.boolean(),
          css: fc.integer({ min: 0, max: 255 }), bps: fc.boolean(), mpsmin: fc.integer({ min: 0, max: 15 }),
          mpsmax: fc.integer({ min: 0, max: 15 }), pmrs: fc.boolean(), cmbs: fc.boolean(), nsss: fc.boolean(),
          crms: fc.integer({ min: 0, max: 3 }),
        }),
        (c) => {
          expect(decodeCap(encodeCap(c))).toEqual({ ...c });
        },
      ),
    );
  });

  it('CC as the Linux host writes it: EN, IOSQES 6, IOCQES 4, MPS 0, CSS NVM', () => {
    const cc = encodeCc({ en: true, iosqes: 6, iocqes: 4, css: CcCss.Nvm });
    expect(cc).toBe(0x0046_0001);
    expect(ccEnabled(cc)).toBe(true);
    expect(ccShn(cc)).toBe(Shn.None);
    const shut = encodeCc({ ...decodeCc(cc), shn: Shn.Normal });
    expect(shut).toBe(0x0046_4001);
    expect(ccShn(shut)).toBe(Shn.Normal);
    expect(decodeCc(0x0046_0001)).toEqual({ en: true, css: 0, mps: 0, ams: 0, shn: 0, iosqes: 6, iocqes: 4, crime: false });
  });

  it('CC round trip', () => {
    fc.assert(
      fc.property(
        fc.record({
          en: fc.boolean(), css: fc.integer({ min: 0, max: 7 }), mps: fc.integer({ min: 0, max: 15 }),
          ams: fc.integer({ min: 0, max: 7 }), shn: fc.integer({ min: 0, max: 3 }),
          iosqes: fc.integer({ min: 0, max: 15 }), iocqes: fc.integer({ min: 0, max: 15 }), crime: fc.boolean(),
        }),
        (c) => {
          expect(decodeCc(encodeCc(c))).toEqual({ ...c });
        },
      ),
    );
  });

  it('CSTS', () => {
    expect(encodeCsts({ rdy: true })).toBe(CSTS_RDY);
    expect(encodeCsts({ rdy: true, shst: Shst.Complete })).toBe(0x9);
    expect(encodeCsts({ cfs: true })).toBe(CSTS_CFS);
    expect(decodeCsts(0x9)).toEqual({ rdy: true, cfs: false, shst: 2, nssro: false, pp: false, st: false });
    for (let v = 0; v < 128; v++) expect(encodeCsts(decodeCsts(v))).toBe(v);
  });

  it('AQA', () => {
    expect(encodeAqa(31, 31)).toBe(0x001f_001f);
    expect(decodeAqa(0x001f_003f)).toEqual({ asqs: 63, acqs: 31 });
  });
});
