import { afterEach, describe, expect, it } from 'vitest';
import { setup, SUBNQN, HOSTNQN, OTHER_HOST, type Fixture } from './setup.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE } from '../../src/nvme/status.js';
import { DISCOVERY_NQN } from '../../src/nvme/fabrics.js';
import { decodeIdentifyController, CntrlType, Oaes } from '../../src/nvme/identify-ctrl.js';
import { decodeDiscoveryLog, decodeDiscoveryLogHeader, DiscSubtype, AdrFam } from '../../src/nvme/log-pages.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { encodeSqe } from '../../src/nvme/sqe.js';
import { AdminOpcode } from '../../src/nvme/opcodes.js';
import type { LoopController } from '../../target/loop/host.js';
import type { LoopCompletion } from '../../target/loop/loop-transport.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

const noMore = (s: number): number => s & ~STATUS_MORE;

async function discover(host = HOSTNQN): Promise<LoopController> {
  const c = await f.connect({ subnqn: DISCOVERY_NQN, hostnqn: host });
  await c.enable();
  return c;
}

async function readLog(c: LoopController): Promise<ReturnType<typeof decodeDiscoveryLog>> {
  const hdr = await c.getLogPage(0x70, 1024);
  expect(hdr.status).toBe(0);
  const { numrec } = decodeDiscoveryLogHeader(hdr.data!);
  const full = await c.getLogPage(0x70, 1024 * (1 + numrec));
  return decodeDiscoveryLog(full.data!);
}

describe('discovery controller', () => {
  it('Identify reports a discovery controller', async () => {
    f = await setup();
    const c = await discover();
    const id = decodeIdentifyController((await c.identify(1)).data!);
    expect(id.cntrltype).toBe(CntrlType.Discovery);
    expect(id.subnqn).toBe(DISCOVERY_NQN);
    expect(id.cntlid).toBe(c.cntlid);
    expect(id.oaes >>> 0).toBe(Oaes.DiscoveryLogChange);
    expect(noMore((await c.identify(0, 1)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
  });

  it('the log lists subsystems of the port the host may access, plus referrals', async () => {
    f = await setup();
    const other = f.nvmet.addSubsystem({ nqn: 'nqn.2024-01.io.nvmet-ts:other', allowAnyHost: true });
    const hidden = f.nvmet.addSubsystem({ nqn: 'nqn.2024-01.io.nvmet-ts:hidden', allowedHosts: [OTHER_HOST] });
    f.port.addSubsystem(other);
    f.port.addSubsystem(hidden);
    f.nvmet.addSubsystem({ nqn: 'nqn.2024-01.io.nvmet-ts:unlinked', allowAnyHost: true });
    f.port.addReferral({ id: 1, portId: 7, trtype: TrType.TCP, traddr: '10.0.0.7', trsvcid: '8009' });
    const c = await discover();
    const log = await readLog(c);
    // The current discovery subsystem, two accessible subsystems, one referral.
    expect(log.numrec).toBe(4);
    expect(log.entries).toHaveLength(4);
    expect(log.recfmt).toBe(0);
    expect(log.entries.map((x) => x.subtype)).toEqual([DiscSubtype.CurrentDiscovery, DiscSubtype.Nvme, DiscSubtype.Nvme, DiscSubtype.Referral]);
    const nvme = log.entries.filter((e) => e.subtype === DiscSubtype.Nvme).map((e) => e.subnqn).sort();
    expect(nvme).toEqual([SUBNQN, 'nqn.2024-01.io.nvmet-ts:other'].sort());
    const e = log.entries.find((x) => x.subnqn === SUBNQN)!;
    expect(e).toMatchObject({ trtype: TrType.LOOP, adrfam: AdrFam.IntraHost, portid: 1, cntlid: 0xffff, asqsz: 32, traddr: 'loop', trsvcid: 'none' });
    const ref = log.entries.find((x) => x.subtype === DiscSubtype.Referral)!;
    expect(ref).toMatchObject({ subnqn: DISCOVERY_NQN, traddr: '10.0.0.7', trsvcid: '8009', portid: 7, trtype: TrType.TCP, adrfam: AdrFam.Ipv4 });
    // The other host sees the hidden subsystem too.
    const c2 = await discover(OTHER_HOST);
    const log2 = await readLog(c2);
    expect(log2.numrec).toBe(4);
    expect(log2.entries.filter((x) => x.subtype === DiscSubtype.Nvme).length).toBe(2);
    expect(log2.entries.some((x) => x.subnqn === 'nqn.2024-01.io.nvmet-ts:hidden')).toBe(true);
  });

  it('entry 0 describes the current discovery subsystem on the port (SUBTYPE 3), even with nothing linked', async () => {
    f = await setup();
    f.port.addReferral({ id: 1, portId: 7, trtype: TrType.TCP, traddr: '10.0.0.7', trsvcid: '8009' });
    const c = await discover();
    const log = await readLog(c);
    expect(log.entries[0]).toMatchObject({
      trtype: TrType.LOOP,
      adrfam: AdrFam.IntraHost,
      subtype: DiscSubtype.CurrentDiscovery,
      treq: 0,
      portid: 1,
      cntlid: 0xffff,
      asqsz: 32,
      eflags: 0,
      trsvcid: 'none',
      subnqn: DISCOVERY_NQN,
      traddr: 'loop',
    });
    expect(log.entries.filter((x) => x.subtype === DiscSubtype.CurrentDiscovery)).toHaveLength(1);
    // It is always there: a host that may access nothing still sees it (plus the referral).
    f.port.removeSubsystem(SUBNQN);
    const bare = await readLog(c);
    expect(bare.numrec).toBe(2);
    expect(bare.entries.map((x) => x.subtype)).toEqual([DiscSubtype.CurrentDiscovery, DiscSubtype.Referral]);
    f.port.removeReferral(1);
    const only = await readLog(c);
    expect(only.numrec).toBe(1);
    expect(only.entries[0]!.subtype).toBe(DiscSubtype.CurrentDiscovery);
    expect(only.genctr).toBeGreaterThan(bare.genctr);
  });

  it('GENCTR changes whenever the log could change', async () => {
    f = await setup();
    const c = await discover();
    const g0 = (await readLog(c)).genctr;
    f.subsys.allowHost(OTHER_HOST);
    const g1 = (await readLog(c)).genctr;
    expect(g1).toBeGreaterThan(g0);
    f.port.addReferral({ id: 2, portId: 9, trtype: TrType.TCP, traddr: '10.0.0.9', trsvcid: '4420' });
    const g2 = (await readLog(c)).genctr;
    expect(g2).toBeGreaterThan(g1);
    f.port.removeSubsystem(SUBNQN);
    const after = await readLog(c);
    expect(after.genctr).toBeGreaterThan(g2);
    expect(after.entries.some((e) => e.subnqn === SUBNQN)).toBe(false);
  });

  it('raises a Discovery Log Page Change AEN once enabled, re-armed by reading the log', async () => {
    f = await setup();
    const c = await discover();
    expect((await c.setFeatures(0x0b, 0x8000_0000)).status).toBe(0);
    expect((await c.getFeatures(0x0b)).dw0 >>> 0).toBe(0x8000_0000);
    const aer = c.asyncEventRequest();
    const other = f.nvmet.addSubsystem({ nqn: 'nqn.2024-01.io.nvmet-ts:late', allowAnyHost: true });
    f.port.addSubsystem(other);
    const r: LoopCompletion = await aer;
    expect(r.dw0).toBe(2 | (0xf0 << 8) | (0x70 << 16));
    expect((await readLog(c)).entries.some((e) => e.subnqn === 'nqn.2024-01.io.nvmet-ts:late')).toBe(true);
    const aer2 = c.asyncEventRequest();
    f.port.removeSubsystem('nqn.2024-01.io.nvmet-ts:late');
    expect((await aer2).dw0).toBe(2 | (0xf0 << 8) | (0x70 << 16));
  });

  it('accepts only the discovery command subset', async () => {
    f = await setup();
    const c = await discover();
    expect((await c.keepAlive()).status).toBe(0);
    expect((await c.getFeatures(0x0f)).dw0).toBe(120_000);
    expect(noMore((await c.setFeatures(0x07, 0)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    expect(noMore((await c.setFeatures(0x0b, 1 << 8)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    expect(noMore((await c.getLogPage(0x02, 512)).status)).toBe(NvmeStatus.InvalidLogPage | STATUS_DNR);
    const abort = await c.adminCmd(encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.Abort }));
    expect(noMore(abort.status)).toBe(NvmeStatus.InvalidOpcode | STATUS_DNR);
    // No I/O queues on a discovery controller.
    const r = await c.connectIoRaw(f.loop.connect(1), 1);
    expect(r.status).toBe(NvmeStatus.ConnectInvalidParam | STATUS_DNR);
  });

  it('refuses commands before CC.EN, and supports partial reads at an offset', async () => {
    f = await setup();
    f.port.addReferral({ id: 1, portId: 7, trtype: TrType.TCP, traddr: '10.0.0.7', trsvcid: '8009' });
    const c = await f.connect({ subnqn: DISCOVERY_NQN });
    expect(noMore((await c.getLogPage(0x70, 1024)).status)).toBe(NvmeStatus.InvalidOpcode | STATUS_DNR);
    await c.enable();
    // Entry 0 (current discovery subsystem) at 1024, entry 1 (the subsystem) at 2048,
    // entry 2 (the referral) at 3072: TRADDR at +512, SUBTYPE at +2.
    const first = await c.getLogPage(0x70, 1024, { offset: 1024 });
    expect(first.status).toBe(0);
    expect(first.data![2]).toBe(DiscSubtype.CurrentDiscovery);
    expect(Buffer.from(first.data!.subarray(256, 256 + DISCOVERY_NQN.length)).toString()).toBe(DISCOVERY_NQN);
    const third = await c.getLogPage(0x70, 1024, { offset: 3072 });
    expect(third.status).toBe(0);
    expect(third.data![2]).toBe(DiscSubtype.Referral);
    expect(Buffer.from(third.data!.subarray(512, 520)).toString()).toBe('10.0.0.7');
    // The header counts all three; the page ends after entry 2, so an offset at 4096 has no byte to send.
    const hdr = await c.getLogPage(0x70, 1024);
    expect(decodeDiscoveryLogHeader(hdr.data!).numrec).toBe(3);
    expect(noMore((await c.getLogPage(0x70, 1024, { offset: 4096 })).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
  });
});
