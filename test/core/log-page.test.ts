import { afterEach, describe, expect, it } from 'vitest';
import { setup, pattern, type Fixture } from './setup.js';
import { NvmeStatus, STATUS_DNR, STATUS_MORE, statusCode } from '../../src/nvme/status.js';
import {
  LogId,
  decodeErrorLogEntry,
  decodeSmartLog,
  decodeFirmwareSlotLog,
  decodeChangedNsList,
  ERROR_LOG_ENTRY_SIZE,
} from '../../src/nvme/log-pages.js';
import { Cns } from '../../src/nvme/identify.js';

let f: Fixture;
afterEach(async () => {
  await f.close();
});

const noMore = (s: number): number => s & ~STATUS_MORE;

describe('Get Log Page', () => {
  it('Error Information: failed commands are logged newest first, with MORE set on their completion', async () => {
    f = await setup();
    const c = await f.ready();
    const empty = await c.getLogPage(LogId.ErrorInfo, 64);
    expect(empty.status).toBe(0);
    expect(decodeErrorLogEntry(empty.data!).errorCount).toBe(0n);

    const bad1 = await c.identify(Cns.Namespace, 0xffffffff);
    expect(bad1.status).toBe(NvmeStatus.InvalidNs | STATUS_DNR | STATUS_MORE);
    const q = await c.connectIo(1);
    const bad2 = await c.read(q, 1, 1 << 30, 1, 512);
    expect(bad2.status).toBe(NvmeStatus.LbaOutOfRange | STATUS_DNR | STATUS_MORE);

    const r = await c.getLogPage(LogId.ErrorInfo, 4 * ERROR_LOG_ENTRY_SIZE);
    const e0 = decodeErrorLogEntry(r.data!, 0);
    const e1 = decodeErrorLogEntry(r.data!, ERROR_LOG_ENTRY_SIZE);
    expect(e0.errorCount).toBe(2n);
    expect(e0.sqid).toBe(1);
    expect(e0.cid).toBe(bad2.cqe.cid);
    expect(statusCode(e0.status)).toBe(NvmeStatus.LbaOutOfRange);
    expect(e0.lba).toBe(BigInt(1 << 30));
    expect(e0.nsid).toBe(1);
    expect(e0.paramErrorLocation).toBe(40);
    expect(e1.errorCount).toBe(1n);
    expect(e1.sqid).toBe(0);
    expect(statusCode(e1.status)).toBe(NvmeStatus.InvalidNs);
    expect(decodeErrorLogEntry(r.data!, 2 * ERROR_LOG_ENTRY_SIZE).errorCount).toBe(0n);
  });

  it('SMART / Health: host read/write commands and data units, per namespace and controller-wide', async () => {
    f = await setup({
      namespaces: [
        { nsid: 1, size: 16 << 20 },
        { nsid: 2, size: 16 << 20 },
      ],
    });
    const c = await f.ready();
    const q = await c.connectIo(1);
    // 1000 × 512 B written to ns 1 = exactly one data unit; a second write makes 2.
    const buf = pattern(1000 * 512, 1);
    expect((await c.write(q, 1, 0, buf.subarray(0, 500 * 512), 512)).status).toBe(0);
    expect((await c.write(q, 1, 500, buf.subarray(500 * 512), 512)).status).toBe(0);
    expect((await c.write(q, 2, 0, pattern(512, 2), 512)).status).toBe(0);
    expect((await c.read(q, 1, 0, 8, 512)).status).toBe(0);

    const all = decodeSmartLog((await c.getLogPage(LogId.Smart, 512)).data!);
    expect(all.hostWriteCommands).toBe(3n);
    expect(all.hostReadCommands).toBe(1n);
    expect(all.dataUnitsWritten).toBe(2n); // 1000 + 1 blocks → ceil(1001/1000)
    expect(all.dataUnitsRead).toBe(1n);
    expect(all.availableSpare).toBe(100);
    expect(all.temperature).toBeGreaterThan(273);

    const ns2 = decodeSmartLog((await c.getLogPage(LogId.Smart, 512, { nsid: 2 })).data!);
    expect(ns2.hostWriteCommands).toBe(1n);
    expect(ns2.hostReadCommands).toBe(0n);
    expect(ns2.dataUnitsWritten).toBe(1n);

    const missing = await c.getLogPage(LogId.Smart, 512, { nsid: 7 });
    expect(noMore(missing.status)).toBe(NvmeStatus.InvalidNs | STATUS_DNR);
  });

  it('Firmware Slot: one active slot with the subsystem firmware revision', async () => {
    f = await setup({ subsys: { firmwareRev: 'FW-9' } });
    const c = await f.ready();
    const fw = decodeFirmwareSlotLog((await c.getLogPage(LogId.FirmwareSlot, 512)).data!);
    expect(fw.afi & 7).toBe(1);
    expect(fw.frs[0]).toBe('FW-9');
    expect(fw.frs[1]).toBe('');
  });

  it('Changed Namespace List: entries for namespaces enabled/disabled, cleared on read unless RAE', async () => {
    f = await setup();
    const c = await f.ready();
    expect(decodeChangedNsList((await c.getLogPage(LogId.ChangedNsList, 4096)).data!).nsids).toEqual([]);
    const ns4 = f.subsys.addNamespace({ nsid: 4, backend: { kind: 'ram', size: 1 << 20 } });
    await ns4.enable();
    await f.subsys.getNamespace(1)!.disable();
    const kept = await c.getLogPage(LogId.ChangedNsList, 4096, { rae: true });
    expect(decodeChangedNsList(kept.data!).nsids).toEqual([1, 4]);
    const read = await c.getLogPage(LogId.ChangedNsList, 4096);
    expect(decodeChangedNsList(read.data!).nsids).toEqual([1, 4]);
    expect(decodeChangedNsList((await c.getLogPage(LogId.ChangedNsList, 4096)).data!).nsids).toEqual([]);
  });

  it('Changed Namespace List overflows to 0xffffffff after 1024 distinct changes', async () => {
    f = await setup({ namespaces: [], subsys: { maxNamespaces: 2048 } });
    const c = await f.ready();
    const ctrl = f.subsys.getController(c.cntlid)!;
    for (let nsid = 1; nsid <= 1025; nsid++) ctrl.nsChanged(nsid);
    const l = decodeChangedNsList((await c.getLogPage(LogId.ChangedNsList, 4096)).data!);
    expect(l.overflow).toBe(true);
  });

  it('honours the log page offset and zero-fills beyond the page; bad offsets and unknown pages fail', async () => {
    f = await setup({ subsys: { firmwareRev: 'ABCDEFGH' } });
    const c = await f.ready();
    const win = await c.getLogPage(LogId.FirmwareSlot, 16, { offset: 8 });
    expect(Buffer.from(win.data!.subarray(0, 8)).toString()).toBe('ABCDEFGH');
    const tail = await c.getLogPage(LogId.FirmwareSlot, 64, { offset: 480 });
    expect(tail.status).toBe(0);
    expect(tail.data!.every((x) => x === 0)).toBe(true);
    const past = await c.getLogPage(LogId.FirmwareSlot, 4, { offset: 512 });
    expect(noMore(past.status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
    const unknown = await c.getLogPage(0x0d, 512);
    expect(noMore(unknown.status)).toBe(NvmeStatus.InvalidLogPage | STATUS_DNR);
    // Discovery log is only for discovery controllers.
    expect(noMore((await c.getLogPage(LogId.Discovery, 1024)).status)).toBe(NvmeStatus.InvalidLogPage | STATUS_DNR);
  });

  it('bounds the transfer by MDTS', async () => {
    f = await setup({ loop: { maxTransferSize: 8192 } });
    const c = await f.ready();
    expect((await c.getLogPage(LogId.ErrorInfo, 8192)).status).toBe(0);
    expect(noMore((await c.getLogPage(LogId.ErrorInfo, 8196)).status)).toBe(NvmeStatus.InvalidField | STATUS_DNR);
  });
});
