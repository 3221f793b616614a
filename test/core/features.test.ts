import { afterEach, describe, expect, it } from 'vitest';
import { setup, type Fixture } from './setup.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE } from '../../src/nvme/status.js';
import { encodeSqe } from '../../src/nvme/sqe.js';
import { AdminOpcode } from '../../src/nvme/opcodes.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

const noMore = (s: number): number => s & ~STATUS_MORE;
const FID = { vwc: 0x06, nq: 0x07, aec: 0x0b, kato: 0x0f } as const;

describe('Set/Get Features', () => {
  it('Number of Queues: grants min(requested, subsystem max), 0xffff is invalid', async () => {
    f = await setup({ subsys: { maxQid: 8 } });
    const c = await f.ready();
    expect((await c.getFeatures(FID.nq)).dw0).toBe((7 << 16) | 7);
    const big = await c.setFeatures(FID.nq, (63 << 16) | 63);
    expect(big.dw0).toBe((7 << 16) | 7);
    const small = await c.setFeatures(FID.nq, (1 << 16) | 3);
    expect(small.dw0).toBe((1 << 16) | 1);
    expect((await c.getFeatures(FID.nq)).dw0).toBe((1 << 16) | 1);
    expect(noMore((await c.setFeatures(FID.nq, 0xffff)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
  });

  it('Keep Alive Timer: set in ms, read back', async () => {
    f = await setup();
    const c = await f.ready({ kato: 5000 });
    expect((await c.getFeatures(FID.kato)).dw0).toBe(5000);
    expect((await c.setFeatures(FID.kato, 15000)).status).toBe(0);
    expect((await c.getFeatures(FID.kato)).dw0).toBe(15000);
    expect(f.subsys.getController(c.cntlid)!.kato).toBe(15000);
  });

  it('Asynchronous Event Configuration: NS attribute and ANA change notices by default (Linux NVMET_AEN_CFG_OPTIONAL), unsupported bits refused', async () => {
    f = await setup();
    const c = await f.ready();
    expect((await c.getFeatures(FID.aec)).dw0).toBe((1 << 8) | (1 << 11));
    expect((await c.setFeatures(FID.aec, 0)).status).toBe(0);
    expect((await c.getFeatures(FID.aec)).dw0).toBe(0);
    expect(noMore((await c.setFeatures(FID.aec, 1 << 9)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    expect((await c.getFeatures(FID.aec, 1)).dw0).toBe((1 << 8) | (1 << 11)); // default
  });

  it('Volatile Write Cache: enabled by default, can be turned off', async () => {
    f = await setup();
    const c = await f.ready();
    expect((await c.getFeatures(FID.vwc)).dw0).toBe(1);
    expect((await c.setFeatures(FID.vwc, 0)).status).toBe(0);
    expect((await c.getFeatures(FID.vwc)).dw0).toBe(0);
    expect(f.subsys.getController(c.cntlid)!.vwc).toBe(false);
  });

  it('supported capabilities, save, and unsupported features', async () => {
    f = await setup();
    const c = await f.ready();
    expect((await c.getFeatures(FID.kato, 3)).dw0 & 0x4).toBe(0x4);
    expect(noMore((await c.setFeatures(FID.kato, 1000, { save: true })).status)).toBe(NvmeStatus.FeatureNotSaveable | STATUS_DNR);
    expect(noMore((await c.getFeatures(0x02)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    expect(noMore((await c.setFeatures(0x04, 0)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    expect(noMore((await c.getFeatures(FID.kato, 5)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
  });
});

describe('other admin commands', () => {
  it('unknown opcodes are Invalid Opcode; Abort reports "not aborted"', async () => {
    f = await setup();
    const c = await f.ready();
    const r = await c.adminCmd(encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.FormatNvm }));
    expect(noMore(r.status)).toBe(NvmeStatus.InvalidOpcode | STATUS_DNR);
    const a = await c.adminCmd(encodeSqe(new Uint8Array(64), { opcode: AdminOpcode.Abort }));
    expect(a.status).toBe(0);
    expect(a.dw0 & 1).toBe(1);
  });

  it('Keep Alive without a KATO is Keep Alive Timeout Invalid', async () => {
    f = await setup();
    const c = await f.ready({ kato: 0 });
    expect(noMore((await c.keepAlive()).status)).toBe(NvmeStatus.KeepAliveInvalid);
  });
});
