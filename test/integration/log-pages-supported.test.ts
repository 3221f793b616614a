/**
 * Commands Supported and Effects (05h) and Supported Log Pages (00h) through
 * the TCP initiator, as the Linux host reads them (nvme_init_effects, nvme
 * supported-log-pages), and Identify LPA bit 1 that makes the host ask.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, NvmeError } from '../../initiator/index.js';
import type { Controller } from '../../initiator/index.js';
import { NvmeStatus } from '../../src/nvme/status.js';
import { CmdEffects, LidEffects, LogId, decodeCommandEffectsLog, decodeSupportedLogPages } from '../../src/nvme/log-pages.js';
import { Lpa } from '../../src/nvme/identify-ctrl.js';
import { AdminOpcode, IoOpcode } from '../../src/nvme/opcodes.js';
import { startTarget, SUBNQN } from './harness.js';
import type { TestTarget } from './harness.js';

let t: TestTarget;
let c: Controller;

beforeAll(async () => {
  t = await startTarget({ namespaces: { 1: 4 << 20 } });
  c = await connect({ host: t.host, port: t.tcpPort, subnqn: SUBNQN, queues: 1 });
});
afterAll(async () => {
  await c?.close();
  await t?.stop();
});

async function statusOf(p: Promise<unknown>): Promise<number> {
  const e = await p.then(() => null, (x: unknown) => x);
  if (!(e instanceof NvmeError)) throw new Error(`expected an NvmeError, got ${String(e)}`);
  return e.status;
}

describe('Commands Supported and Effects (LID 05h)', () => {
  test('Identify LPA has bit 1 (Linux sets 0x7)', async () => {
    const id = await c.identifyController();
    expect(id.lpa & Lpa.CommandEffects).toBe(Lpa.CommandEffects);
    expect(id.lpa).toBe(0x7);
  });

  test('admin and NVM commands this target executes, LBCC on the writers (admin-cmd.c nvmet_get_cmd_effects_*)', async () => {
    const { admin, io } = decodeCommandEffectsLog(await c.getLogPage(LogId.CommandEffects, 4096));
    expect([...admin.keys()].sort((a, b) => a - b)).toEqual(
      [AdminOpcode.GetLogPage, AdminOpcode.Identify, AdminOpcode.Abort, AdminOpcode.SetFeatures, AdminOpcode.GetFeatures,
        AdminOpcode.AsyncEventRequest, AdminOpcode.KeepAlive].sort((a, b) => a - b),
    );
    for (const v of admin.values()) expect(v).toBe(CmdEffects.Supported);
    expect(io.get(IoOpcode.Write)).toBe(CmdEffects.Supported | CmdEffects.LbaContentChange);
    expect(io.get(IoOpcode.WriteZeroes)).toBe(CmdEffects.Supported | CmdEffects.LbaContentChange);
    for (const op of [IoOpcode.Read, IoOpcode.Flush, IoOpcode.DatasetManagement, IoOpcode.ReservationRegister,
      IoOpcode.ReservationReport, IoOpcode.ReservationAcquire, IoOpcode.ReservationRelease]) {
      expect(io.get(op)).toBe(CmdEffects.Supported);
    }
    expect(io.has(IoOpcode.Compare)).toBe(false);
  });

  test('a window at an offset returns the same bytes', async () => {
    const whole = await c.getLogPage(LogId.CommandEffects, 4096);
    const part = await c.getLogPage(LogId.CommandEffects, 64, { offset: 1024 });
    expect(part).toEqual(whole.subarray(1024, 1088));
  });

  test('CSI ZNS: Invalid I/O Command Set; another CSI: Invalid Log Page', async () => {
    expect(await statusOf(c.getLogPage(LogId.CommandEffects, 4096, { csi: 2 }))).toBe(NvmeStatus.InvalidIoCommandSet);
    expect(await statusOf(c.getLogPage(LogId.CommandEffects, 4096, { csi: 1 }))).toBe(NvmeStatus.InvalidLogPage);
  });
});

describe('Supported Log Pages (LID 00h)', () => {
  test('lists exactly the pages served, each with LSUPP', async () => {
    const m = decodeSupportedLogPages(await c.getLogPage(LogId.SupportedLogPages, 1024));
    expect([...m.keys()]).toEqual([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0c, 0x80]);
    for (const v of m.values()) expect(v).toBe(LidEffects.Supported);
    // Every listed page is readable.
    for (const lid of m.keys()) await c.getLogPage(lid, 64, { rae: true });
  });

  test('a page not listed is refused', async () => {
    expect((await statusOf(c.getLogPage(0x09, 512))) & 0x7ff).toBe(NvmeStatus.InvalidLogPage);
  });
});
