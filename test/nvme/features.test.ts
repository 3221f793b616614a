import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FeatureId, FeatureSel, FeatureCap, featuresFid, featuresSel, featuresSave, decodeFeaturesCommand, encodeSetFeatures,
  encodeGetFeatures, encodeNumQueues, decodeNumQueues, encodeArbitration, decodeArbitration, encodePowerManagement,
  encodeTemperatureThreshold, decodeTemperatureThreshold, encodeErrorRecovery, encodeVolatileWriteCache,
  decodeVolatileWriteCache, encodeInterruptCoalescing, decodeInterruptCoalescing, encodeWriteAtomicity,
  AsyncEventConfig, encodeKeepAliveTimer, hostIdLength,
} from '../../src/nvme/features.js';
import { Oaes } from '../../src/nvme/identify-ctrl.js';
import {
  AerType, AerNotice, encodeAerResult, decodeAerResult, AER_NS_CHANGED, AER_DISCOVERY_CHANGED, AER_ANA_CHANGED,
} from '../../src/nvme/async-event.js';
import {
  DsmAttr, dsmRangeCount, dsmAttributes, dsmDataLength, readDsmRange, decodeDsmRanges, encodeDsmRanges, encodeDsmCommand,
} from '../../src/nvme/dsm.js';
import { sqeOpcode } from '../../src/nvme/sqe.js';
import { toHex } from './hex.js';

describe('feature ids', () => {
  it.each([
    ['Arbitration', FeatureId.Arbitration, 0x01],
    ['PowerManagement', FeatureId.PowerManagement, 0x02],
    ['TemperatureThreshold', FeatureId.TemperatureThreshold, 0x04],
    ['ErrorRecovery', FeatureId.ErrorRecovery, 0x05],
    ['VolatileWriteCache', FeatureId.VolatileWriteCache, 0x06],
    ['NumberOfQueues', FeatureId.NumberOfQueues, 0x07],
    ['InterruptCoalescing', FeatureId.InterruptCoalescing, 0x08],
    ['AsyncEventConfig', FeatureId.AsyncEventConfig, 0x0b],
    ['KeepAliveTimer', FeatureId.KeepAliveTimer, 0x0f],
    ['HostIdentifier', FeatureId.HostIdentifier, 0x81],
  ])('%s', (_n, got, want) => {
    expect(got).toBe(want);
  });
});

describe('Set/Get Features commands', () => {
  it('Set Features Number of Queues like the Linux host (8 I/O queues)', () => {
    const b = encodeSetFeatures(new Uint8Array(64), { cid: 4, fid: FeatureId.NumberOfQueues, cdw11: encodeNumQueues(7, 7) });
    expect(sqeOpcode(b)).toBe(0x09);
    expect(toHex(b.subarray(40, 48))).toBe('07000000' + '07000700');
    expect(featuresFid(b)).toBe(7);
    expect(featuresSave(b)).toBe(false);
  });

  it('Set Features with SV, Get Features with SEL', () => {
    const s = encodeSetFeatures(new Uint8Array(64), { fid: FeatureId.KeepAliveTimer, save: true, cdw11: encodeKeepAliveTimer(5000) });
    expect(toHex(s.subarray(40, 48))).toBe('0f000080' + '88130000');
    expect(featuresSave(s)).toBe(true);
    const g = encodeGetFeatures(new Uint8Array(64), { fid: FeatureId.VolatileWriteCache, sel: FeatureSel.SupportedCapabilities, nsid: 1 });
    expect(sqeOpcode(g)).toBe(0x0a);
    expect(toHex(g.subarray(40, 44))).toBe('06030000');
    expect(featuresSel(g)).toBe(3);
    expect(decodeFeaturesCommand(g)).toMatchObject({ fid: 6, sel: 3, nsid: 1, save: false });
  });

  it('round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.integer({ min: 0, max: 0xffff_ffff }), (fid, save, cdw11) => {
        const d = decodeFeaturesCommand(encodeSetFeatures(new Uint8Array(64), { fid, save, cdw11 }));
        return d.fid === fid && d.save === save && d.cdw11 === cdw11;
      }),
    );
  });
});

describe('feature values', () => {
  it('Number of Queues (0-based, NSQ low, NCQ high)', () => {
    expect(encodeNumQueues(0, 0)).toBe(0);
    expect(encodeNumQueues(3, 1)).toBe(0x0001_0003);
    expect(encodeNumQueues(0xfffe, 0xfffe)).toBe(0xfffe_fffe);
    expect(decodeNumQueues(0x0001_0003)).toEqual({ nsq: 3, ncq: 1 });
  });

  it('Arbitration', () => {
    const a = { ab: 7, lpw: 1, mpw: 2, hpw: 0xff };
    expect(encodeArbitration(a)).toBe(0xff02_0107);
    expect(decodeArbitration(0xff02_0107)).toEqual(a);
  });

  it('misc encodings', () => {
    expect(encodePowerManagement(3, 2)).toBe(0x43);
    expect(encodeTemperatureThreshold({ tmpth: 358, tmpsel: 1, thsel: 1 })).toBe(0x0011_0166);
    expect(decodeTemperatureThreshold(0x0011_0166)).toEqual({ tmpth: 358, tmpsel: 1, thsel: 1 });
    expect(encodeErrorRecovery(10, true)).toBe(0x0001_000a);
    expect(encodeVolatileWriteCache(true)).toBe(1);
    expect(decodeVolatileWriteCache(0xfffe)).toBe(false);
    expect(encodeInterruptCoalescing(4, 10)).toBe(0x0a04);
    expect(decodeInterruptCoalescing(0x0a04)).toEqual({ thr: 4, time: 10 });
    expect(encodeWriteAtomicity(true)).toBe(1);
    expect(hostIdLength(1)).toBe(16);
    expect(hostIdLength(0)).toBe(8);
    expect(FeatureCap).toEqual({ Saveable: 1, NamespaceSpecific: 2, Changeable: 4 });
  });

  it('async event config bits equal the OAES bits', () => {
    expect(AsyncEventConfig.NsAttributeNotices).toBe(Oaes.NsAttributeNotices);
    expect(AsyncEventConfig.FirmwareActivationNotices).toBe(Oaes.FirmwareActivation);
    expect(AsyncEventConfig.AnaChangeNotices).toBe(Oaes.AnaChange);
    expect(AsyncEventConfig.DiscoveryLogChangeNotices).toBe(Oaes.DiscoveryLogChange);
    expect(AsyncEventConfig.DiscoveryLogChangeNotices).toBe(2 ** 31);
  });
});

describe('async event results', () => {
  it('Linux nvmet values', () => {
    // nvmet_add_async_event(ctrl, NVME_AER_TYPE_NOTICE, NVME_AER_NOTICE_NS_CHANGED, NVME_LOG_CHANGED_NS)
    expect(AER_NS_CHANGED).toBe(0x0004_0002);
    expect(AER_DISCOVERY_CHANGED).toBe(0x0070_f002);
    expect(AER_ANA_CHANGED).toBe(0x000c_0302);
    expect(decodeAerResult(AER_NS_CHANGED)).toEqual({ type: AerType.Notice, info: AerNotice.NsAttributeChanged, lid: 4 });
  });

  it('round trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (type, info, lid) => {
        const r = encodeAerResult(type, info, lid);
        expect(r).toBeLessThan(2 ** 24);
        expect(decodeAerResult(r)).toEqual({ type, info, lid });
      }),
    );
  });
});

describe('Dataset Management', () => {
  it('command and range list byte-exact', () => {
    const sqe = encodeDsmCommand(new Uint8Array(64), 3, 1, 2, DsmAttr.Deallocate);
    expect(sqeOpcode(sqe)).toBe(0x09);
    expect(toHex(sqe.subarray(40, 48))).toBe('01000000' + '04000000');
    expect(dsmRangeCount(sqe)).toBe(2);
    expect(dsmAttributes(sqe)).toBe(DsmAttr.Deallocate);
    expect(dsmDataLength(sqe)).toBe(32);
    const ranges = [{ cattr: 0, nlb: 8, slba: 0x100 }, { cattr: 0, nlb: 0xffff_ffff, slba: 2 ** 40 }];
    const data = encodeDsmRanges(ranges);
    expect(toHex(data.subarray(0, 16))).toBe('00000000' + '08000000' + '0001000000000000');
    expect(decodeDsmRanges(data, 2)).toEqual(ranges);
    const r = { cattr: 1, nlb: 1, slba: 1 };
    expect(readDsmRange(data, 1, r)).toBe(r);
    expect(r).toEqual(ranges[1]);
  });

  it('range count bounds', () => {
    expect(() => encodeDsmCommand(new Uint8Array(64), 0, 1, 0, 0)).toThrow(RangeError);
    expect(() => encodeDsmCommand(new Uint8Array(64), 0, 1, 257, 0)).toThrow(RangeError);
    expect(dsmRangeCount(encodeDsmCommand(new Uint8Array(64), 0, 1, 256, 0))).toBe(256);
    expect(() => decodeDsmRanges(new Uint8Array(16), 2)).toThrow(RangeError);
    expect(() => encodeDsmRanges([])).toThrow(RangeError);
  });
});
