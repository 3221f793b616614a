import { describe, expect, it } from 'vitest';
import {
  ANA_GROUP_DESC_SIZE, ANA_LOG_HEADER_SIZE, ANA_LOG_RGO, ANA_STATE_NAMES, AnaState, Anacap, anaLogSize, anaStateFromName,
  decodeAnaLog, encodeAnaLog,
} from '../../src/nvme/ana.js';
import { toHex } from './hex.js';

describe('ANA log page codec', () => {
  it('state values and configfs names (NVMe 2.0 ANAS; nvmetcli ana/state)', () => {
    expect([AnaState.Optimized, AnaState.NonOptimized, AnaState.Inaccessible, AnaState.PersistentLoss, AnaState.Change])
      .toEqual([0x01, 0x02, 0x03, 0x04, 0x0f]);
    for (const [v, n] of Object.entries(ANA_STATE_NAMES)) expect(anaStateFromName(n)).toBe(Number(v));
    expect(anaStateFromName('Optimized')).toBeUndefined();
    expect(ANA_LOG_RGO).toBe(1);
    // Linux reports ANACAP 0x1f: every state, no grpid management.
    expect(Anacap.Optimized | Anacap.NonOptimized | Anacap.Inaccessible | Anacap.PersistentLoss | Anacap.Change).toBe(0x1f);
  });

  const cases: { name: string; log: Parameters<typeof encodeAnaLog>[0]; hex: string }[] = [
    { name: 'no groups', log: { chgcnt: 0n, groups: [] }, hex: '00'.repeat(16) },
    {
      name: 'one group with two nsids',
      log: { chgcnt: 5n, groups: [{ grpid: 1, chgcnt: 5n, state: AnaState.Optimized, nsids: [1, 2] }] },
      hex: '0500000000000000' + '0100' + '000000000000' +
        '01000000' + '02000000' + '0500000000000000' + '01' + '00'.repeat(15) + '01000000' + '02000000',
    },
    {
      name: 'two groups, RGO (no nsids)',
      log: {
        chgcnt: 0x1_0000_0002n,
        groups: [
          { grpid: 1, chgcnt: 0x1_0000_0002n, state: AnaState.Inaccessible, nsids: [] },
          { grpid: 0x80, chgcnt: 0x1_0000_0002n, state: AnaState.Change, nsids: [] },
        ],
      },
      hex: '0200000001000000' + '0200' + '000000000000' +
        '01000000' + '00000000' + '0200000001000000' + '03' + '00'.repeat(15) +
        '80000000' + '00000000' + '0200000001000000' + '0f' + '00'.repeat(15),
    },
  ];
  for (const c of cases) {
    it(`encodes ${c.name} byte-exact and decodes back`, () => {
      const b = encodeAnaLog(c.log);
      expect(toHex(b)).toBe(c.hex);
      expect(b.length).toBe(anaLogSize(c.log.groups));
      const d = decodeAnaLog(b);
      expect(d.ngrps).toBe(c.log.groups.length);
      expect(d.chgcnt).toBe(c.log.chgcnt);
      expect(d.groups).toEqual(c.log.groups.map((g) => ({ ...g, nsids: [...g.nsids] })));
    });
  }

  it('a short window decodes the descriptors that fit (NGRPS still counts all)', () => {
    const b = encodeAnaLog({ chgcnt: 1n, groups: [1, 2, 3].map((g) => ({ grpid: g, chgcnt: 1n, state: 1, nsids: [g] })) });
    const d = decodeAnaLog(b.subarray(0, ANA_LOG_HEADER_SIZE + ANA_GROUP_DESC_SIZE + 4 + 10));
    expect(d.ngrps).toBe(3);
    expect(d.groups.map((g) => g.grpid)).toEqual([1]);
  });

  it('rejects a group id of 0 and too many groups', () => {
    expect(() => encodeAnaLog({ chgcnt: 0n, groups: [{ grpid: 0, chgcnt: 0n, state: 1, nsids: [] }] })).toThrow(RangeError);
    const many = Array.from({ length: 0x10000 }, (_, i) => ({ grpid: i + 1, chgcnt: 0n, state: 1, nsids: [] }));
    expect(() => encodeAnaLog({ chgcnt: 0n, groups: many })).toThrow(/NGRPS/);
  });
});
