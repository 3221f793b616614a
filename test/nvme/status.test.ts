import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  NvmeStatus, Sct, STATUS_DNR, makeStatus, withDnr, statusSc, statusSct, statusCode, isDnr,
  isMore, statusCrd, isSuccess, statusName, formatStatus, NvmeStatusError, isNvmeStatusError,
  statusFromError,
} from '../../src/nvme/status.js';

describe('status values match the spec / Linux numbering', () => {
  it.each([
    ['Success', NvmeStatus.Success, 0x000],
    ['InvalidOpcode', NvmeStatus.InvalidOpcode, 0x001],
    ['InvalidField', NvmeStatus.InvalidField, 0x002],
    ['CidConflict', NvmeStatus.CidConflict, 0x003],
    ['DataXferError', NvmeStatus.DataXferError, 0x004],
    ['InternalError', NvmeStatus.InternalError, 0x006],
    ['AbortedSqDeletion', NvmeStatus.AbortedSqDeletion, 0x008],
    ['InvalidNs', NvmeStatus.InvalidNs, 0x00b],
    ['CommandSequenceError', NvmeStatus.CommandSequenceError, 0x00c],
    ['SglInvalidDataLength', NvmeStatus.SglInvalidDataLength, 0x00f],
    ['SglInvalidType', NvmeStatus.SglInvalidType, 0x011],
    ['SglInvalidOffset', NvmeStatus.SglInvalidOffset, 0x016],
    ['KeepAliveExpired', NvmeStatus.KeepAliveExpired, 0x019],
    ['LbaOutOfRange', NvmeStatus.LbaOutOfRange, 0x080],
    ['CapacityExceeded', NvmeStatus.CapacityExceeded, 0x081],
    ['NsNotReady', NvmeStatus.NsNotReady, 0x082],
    ['InvalidCq', NvmeStatus.InvalidCq, 0x100],
    ['InvalidQid', NvmeStatus.InvalidQid, 0x101],
    ['InvalidQueueSize', NvmeStatus.InvalidQueueSize, 0x102],
    ['AbortCommandLimitExceeded', NvmeStatus.AbortCommandLimitExceeded, 0x103],
    ['AsyncEventLimitExceeded', NvmeStatus.AsyncEventLimitExceeded, 0x105],
    ['InvalidLogPage', NvmeStatus.InvalidLogPage, 0x109],
    ['FeatureNotSaveable', NvmeStatus.FeatureNotSaveable, 0x10d],
    ['ConnectIncompatibleFormat', NvmeStatus.ConnectIncompatibleFormat, 0x180],
    ['ConnectControllerBusy', NvmeStatus.ConnectControllerBusy, 0x181],
    ['ConnectInvalidParam', NvmeStatus.ConnectInvalidParam, 0x182],
    ['ConnectRestartDiscovery', NvmeStatus.ConnectRestartDiscovery, 0x183],
    ['ConnectInvalidHost', NvmeStatus.ConnectInvalidHost, 0x184],
    ['WriteToReadOnlyRange', NvmeStatus.WriteToReadOnlyRange, 0x182],
    ['WriteFault', NvmeStatus.WriteFault, 0x280],
    ['UnrecoveredReadError', NvmeStatus.UnrecoveredReadError, 0x281],
    ['AnaInaccessible', NvmeStatus.AnaInaccessible, 0x302],
  ])('%s', (_n, got, want) => {
    expect(got).toBe(want);
  });

  it('DNR is 0x4000 like Linux NVME_SC_DNR', () => {
    expect(STATUS_DNR).toBe(0x4000);
    expect(withDnr(NvmeStatus.ConnectInvalidParam)).toBe(0x4182);
  });
});

describe('status helpers', () => {
  it('makeStatus composes fields', () => {
    expect(makeStatus(Sct.CommandSpecific, 0x84, { dnr: true })).toBe(0x4184);
    expect(makeStatus(Sct.Generic, 0x02, { more: true, crd: 2 })).toBe(0x2000 | 0x1000 | 0x002);
    expect(makeStatus(Sct.Path, 0x02)).toBe(0x302);
  });

  it('decomposes what it composes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 3 }),
        (sct, sc, dnr, more, crd) => {
          const s = makeStatus(sct, sc, { dnr, more, crd });
          return (
            statusSct(s) === sct && statusSc(s) === sc && isDnr(s) === dnr && isMore(s) === more &&
            statusCrd(s) === crd && statusCode(s) === ((sct << 8) | sc) && s <= 0x7fff
          );
        },
      ),
    );
  });

  it('isSuccess ignores flag bits only', () => {
    expect(isSuccess(0)).toBe(true);
    expect(isSuccess(STATUS_DNR)).toBe(true);
    expect(isSuccess(0x002)).toBe(false);
    expect(isSuccess(0x100)).toBe(false);
  });

  it.each([
    [0x002, undefined, 'Invalid Field in Command'],
    [0x4002, undefined, 'Invalid Field in Command'],
    [0x182, undefined, 'Connect Invalid Parameters'],
    [0x182, 'fabrics', 'Connect Invalid Parameters'],
    [0x182, 'io', 'Attempted Write to Read Only Range'],
    [0x184, undefined, 'Connect Invalid Host'],
    [0x181, 'io', 'Invalid Protection Information'],
    [0x080, undefined, 'LBA Out of Range'],
    [0x109, 'admin', 'Invalid Log Page'],
    [0x0ff, undefined, 'Unknown Status (sct 0x0 sc 0xff)'],
    [0x1b0, 'admin', 'Unknown Status (sct 0x1 sc 0xb0)'],
  ] as const)('name of 0x%s (%s)', (s, ctx, want) => {
    expect(statusName(s, ctx)).toBe(want);
  });

  it('every NvmeStatus key has a non-unknown name', () => {
    const io = new Set(['ConflictingAttributes', 'InvalidProtectionInfo', 'WriteToReadOnlyRange']);
    for (const [k, v] of Object.entries(NvmeStatus)) {
      expect(statusName(v, io.has(k) ? 'io' : undefined), k).not.toMatch(/^Unknown/);
    }
  });

  it('formatStatus shows hex and flags', () => {
    expect(formatStatus(0x4002)).toBe('Invalid Field in Command (0x4002, DNR)');
    expect(formatStatus(0)).toBe('Successful Completion (0x000)');
    expect(formatStatus(0x2000 | 0x800 | 0x281)).toBe('Unrecovered Read Error (0x2a81, MORE, CRD1)');
  });
});

describe('NvmeStatusError', () => {
  it('carries the status and decomposes it', () => {
    const e = new NvmeStatusError(withDnr(NvmeStatus.ConnectInvalidHost), 'host not allowed', { result: 0x10200 });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('NvmeStatusError');
    expect(e.status).toBe(0x4184);
    expect(e.code).toBe(0x184);
    expect(e.sct).toBe(1);
    expect(e.sc).toBe(0x84);
    expect(e.dnr).toBe(true);
    expect(e.result).toBe(0x10200);
    expect(e.message).toBe('host not allowed: Connect Invalid Host (0x4184, DNR)');
  });

  it('statusFromError maps foreign errors to Internal Error', () => {
    expect(statusFromError(new NvmeStatusError(NvmeStatus.InvalidNs))).toBe(0x00b);
    expect(statusFromError(new Error('boom'))).toBe(NvmeStatus.InternalError);
    expect(statusFromError('x')).toBe(NvmeStatus.InternalError);
    expect(isNvmeStatusError(new NvmeStatusError(1))).toBe(true);
    expect(isNvmeStatusError(new Error('x'))).toBe(false);
  });
});
