/**
 * Persistent reservations end to end through the TCP initiator with two hosts
 * (two host NQNs and 128-bit host identifiers), as Linux nvmet pr.c behaves:
 * register / acquire / release / clear / preempt(-and-abort) / report
 * (extended), conflicts on I/O, the Reservation Notification log + AEN, the
 * notification mask, PTPL across a restart, and the single-owner rule.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type AsyncEvent, type Controller } from '../../initiator/index.js';
import type { Nvmet } from '../../target/core/nvmet.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { TcpTransport } from '../../target/tcp/index.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { silentLogger } from '../../target/core/log.js';
import { ReservationBypassError, ReservationOwnerError, resvLockPath, resvStatePath } from '../../target/core/ns-reservations.js';
import { spawn, spawnSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { findOtherOpener } from '../../target/core/file-openers.js';
import { NvmeStatus, STATUS_DNR, statusCode } from '../../src/nvme/status.js';
import { LogId } from '../../src/nvme/log-pages.js';
import { Oncs } from '../../src/nvme/identify-ctrl.js';
import { FeatureId } from '../../src/nvme/features.js';
import { AdminOpcode } from '../../src/nvme/opcodes.js';
import { encodeSqe, SQE_SIZE } from '../../src/nvme/sqe.js';
import { AerType } from '../../src/nvme/async-event.js';
import {
  Cptpl, ResvAcquireAction, ResvLogType, ResvNotifyMask, ResvRegisterAction, ResvReleaseAction, ResvType,
  decodeResvNotificationLog, decodeResvStatus, encodeResvAcquireCommand, encodeResvKeys, encodeResvRegisterCommand,
  encodeResvReleaseCommand, encodeResvReleaseData, encodeResvReportCommand,
} from '../../src/nvme/reservations.js';
import { pattern } from './harness.js';

const SUBNQN = 'nqn.2024-01.io.nvmet-ts:resv';
const HOST_A = { hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-4000-8000-00000000000a', hostid: 'aaaaaaaa-0000-4000-8000-00000000000a' };
const HOST_B = { hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-0000-4000-8000-00000000000b', hostid: 'bbbbbbbb-0000-4000-8000-00000000000b' };
const HID_A = HOST_A.hostid.replace(/-/g, '');
const HID_B = HOST_B.hostid.replace(/-/g, '');

interface Target {
  nvmet: Nvmet;
  port: number;
  stop(): Promise<void>;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tmpFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nvmet-ts-resv-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'disk.img');
}

async function startTarget(file: string | null, o: { resv?: boolean } = {}): Promise<Target> {
  const nvmet = createNvmet({ logger: silentLogger });
  nvmet.registerTransport(new TcpTransport({}));
  const subsys = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true });
  await subsys
    .addNamespace({ nsid: 1, resv: o.resv ?? true, backend: file === null ? { kind: 'ram', size: 1 << 20 } : { kind: 'file', path: file, size: 1 << 20 } })
    .enable();
  const port = nvmet.addPort({ portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' });
  port.addSubsystem(subsys);
  await port.enable();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await nvmet.shutdown();
  };
  cleanup.push(stop);
  return { nvmet, port: Number(port.addr.trsvcid), stop };
}

async function host(t: Target, who: typeof HOST_A, events?: AsyncEvent[]): Promise<Controller> {
  const c = await connect({
    host: '127.0.0.1', port: t.port, subnqn: SUBNQN, queues: 1, kato: 0, ...who,
    ...(events !== undefined ? { onAsyncEvent: (e: AsyncEvent) => events.push(e) } : {}),
  });
  cleanup.push(() => c.close().catch(() => undefined));
  return c;
}

const sqe = (): Uint8Array => new Uint8Array(SQE_SIZE);

async function register(c: Controller, rrega: number, crkey: bigint, nrkey: bigint, o: { iekey?: boolean; cptpl?: number } = {}): Promise<number> {
  return (await c.submit(1, encodeResvRegisterCommand(sqe(), { nsid: 1, rrega, ...o }), { dataOut: encodeResvKeys(crkey, nrkey) })).status;
}
async function acquire(c: Controller, racqa: number, rtype: number, crkey: bigint, prkey = 0n): Promise<number> {
  return (await c.submit(1, encodeResvAcquireCommand(sqe(), { nsid: 1, racqa, rtype }), { dataOut: encodeResvKeys(crkey, prkey) })).status;
}
async function release(c: Controller, rrela: number, rtype: number, crkey: bigint): Promise<number> {
  return (await c.submit(1, encodeResvReleaseCommand(sqe(), { nsid: 1, rrela, rtype }), { dataOut: encodeResvReleaseData(crkey) })).status;
}
async function report(c: Controller, len = 4096, eds = true) {
  const r = await c.submit(1, encodeResvReportCommand(sqe(), { nsid: 1, length: len, eds }), { dataIn: len });
  return { status: r.status, data: r.status === 0 ? decodeResvStatus(r.data!, true) : null };
}
async function ioStatus(p: Promise<unknown>): Promise<number> {
  return p.then(() => 0, (e: { status?: number }) => e.status ?? -1);
}
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + 3000;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const code = statusCode;
const CONFLICT = NvmeStatus.ReservationConflict | STATUS_DNR;

describe('reservations between two hosts', () => {
  test('identify: ONCS reservations, RESCAP every type + IEKEY 1.3, PTPL for a file-backed namespace only', async () => {
    const t = await startTarget(tmpFile());
    const a = await host(t, HOST_A);
    expect((await a.identifyController()).oncs & Oncs.Reservations).toBe(Oncs.Reservations);
    expect((await a.identifyNamespace(1)).rescap).toBe(0xff);
    const r = await startTarget(null);
    const b = await host(r, HOST_A);
    expect((await b.identifyNamespace(1)).rescap).toBe(0xfe);
  });

  test('register, report (extended), Write Exclusive: the other host reads but cannot write', async () => {
    const t = await startTarget(null);
    const a = await host(t, HOST_A);
    const b = await host(t, HOST_B);
    expect(await register(a, ResvRegisterAction.Register, 0n, 0xaaaan)).toBe(0);
    expect(await register(b, ResvRegisterAction.Register, 0n, 0xbbbbn)).toBe(0);
    expect(code(await register(b, ResvRegisterAction.Register, 0n, 0x1n))).toBe(NvmeStatus.ReservationConflict);
    expect(await acquire(a, ResvAcquireAction.Acquire, ResvType.WriteExclusive, 0xaaaan)).toBe(0);
    expect(code(await acquire(b, ResvAcquireAction.Acquire, ResvType.WriteExclusive, 0xbbbbn))).toBe(NvmeStatus.ReservationConflict);
    const rep = await report(b);
    expect(rep.status).toBe(0);
    expect(rep.data!.gen).toBe(2);
    expect(rep.data!.rtype).toBe(ResvType.WriteExclusive);
    expect(rep.data!.regctl).toBe(2);
    expect(rep.data!.regctls.map((r) => [Buffer.from(r.hostid).toString('hex'), r.rkey, r.holder, r.cntlid])).toEqual([
      [HID_A, 0xaaaan, true, 0xffff],
      [HID_B, 0xbbbbn, false, 0xffff],
    ]);
    // The holder writes; the registrant reads but may not write, flush or deallocate under WE.
    await a.write(1, 0, pattern(512, 1));
    expect(new Uint8Array(await b.read(1, 0, 1))).toEqual(pattern(512, 1));
    const st = await ioStatus(b.write(1, 0, pattern(512, 2)));
    expect(st & ~0x2000).toBe(CONFLICT);
    expect(code(await ioStatus(b.flush(1)))).toBe(NvmeStatus.ReservationConflict);
    // Registrants-only: B, a registrant, may write now.
    expect(await acquire(a, ResvAcquireAction.Preempt, ResvType.WriteExclusiveRegistrantsOnly, 0xaaaan, 0xaaaan)).toBe(0);
    await b.write(1, 0, pattern(512, 3));
  });

  test('Exclusive Access blocks reads too; release lets everyone back; release by a non-holder is a no-op', async () => {
    const t = await startTarget(null);
    const a = await host(t, HOST_A);
    const b = await host(t, HOST_B);
    await register(a, ResvRegisterAction.Register, 0n, 1n);
    await register(b, ResvRegisterAction.Register, 0n, 2n);
    expect(await acquire(a, ResvAcquireAction.Acquire, ResvType.ExclusiveAccess, 1n)).toBe(0);
    expect(code(await ioStatus(b.read(1, 0, 1)))).toBe(NvmeStatus.ReservationConflict);
    expect(await release(b, ResvReleaseAction.Release, ResvType.ExclusiveAccess, 2n)).toBe(0);
    expect(code(await release(a, ResvReleaseAction.Release, ResvType.WriteExclusive, 1n))).toBe(NvmeStatus.ReservationConflict);
    expect(code(await release(a, ResvReleaseAction.Release, ResvType.ExclusiveAccess, 9n))).toBe(NvmeStatus.ReservationConflict);
    expect(await release(a, ResvReleaseAction.Release, ResvType.ExclusiveAccess, 1n)).toBe(0);
    await b.read(1, 0, 1);
    expect((await report(a)).data!.rtype).toBe(0);
  });

  test('preempt-and-abort: the preempted host gets the AEN and a Registration Preempted log entry, then conflicts', async () => {
    const t = await startTarget(null);
    const evA: AsyncEvent[] = [];
    const a = await host(t, HOST_A, evA);
    const b = await host(t, HOST_B);
    await register(a, ResvRegisterAction.Register, 0n, 1n);
    await register(b, ResvRegisterAction.Register, 0n, 2n);
    await acquire(a, ResvAcquireAction.Acquire, ResvType.ExclusiveAccessRegistrantsOnly, 1n);
    expect(await acquire(b, ResvAcquireAction.PreemptAndAbort, ResvType.ExclusiveAccess, 2n, 1n)).toBe(0);
    await until(() => evA.length > 0, 'reservation AEN on host A');
    expect(evA[0]).toMatchObject({ type: AerType.IoCommandSpecific, info: 0, logPage: LogId.ReservationNotification });
    const log = decodeResvNotificationLog(await a.getLogPage(LogId.ReservationNotification, 64));
    expect(log).toEqual({ count: 1n, type: ResvLogType.RegistrationPreempted, available: 0, nsid: 1 });
    // Read again: empty.
    expect(decodeResvNotificationLog(await a.getLogPage(LogId.ReservationNotification, 64)).type).toBe(ResvLogType.Empty);
    expect(code(await ioStatus(a.read(1, 0, 1)))).toBe(NvmeStatus.ReservationConflict);
    const rep = (await report(a)).data!;
    expect(rep.regctls.map((r) => Buffer.from(r.hostid).toString('hex'))).toEqual([HID_B]);
    expect(rep.gen).toBe(3);
  });

  test('clear: every registrant gone, others notified as Reservation Preempted unless masked (Set Features 82h)', async () => {
    const t = await startTarget(null);
    const a = await host(t, HOST_A);
    const b = await host(t, HOST_B);
    await register(a, ResvRegisterAction.Register, 0n, 1n);
    await register(b, ResvRegisterAction.Register, 0n, 2n);
    expect(await b.setFeatures(FeatureId.ReservationNotificationMask, ResvNotifyMask.ReservationPreempted, { nsid: 1 })).toBe(ResvNotifyMask.ReservationPreempted);
    expect((await b.getFeatures(FeatureId.ReservationNotificationMask, { nsid: 1 })).dw0).toBe(ResvNotifyMask.ReservationPreempted);
    expect(await release(a, ResvReleaseAction.Clear, 0, 1n)).toBe(0);
    expect(decodeResvNotificationLog(await b.getLogPage(LogId.ReservationNotification, 64)).type).toBe(ResvLogType.Empty);
    expect((await report(a)).data!.regctl).toBe(0);
    // Unmasked: the next clear is logged.
    await b.setFeatures(FeatureId.ReservationNotificationMask, 0, { nsid: 0xffff_ffff });
    await register(a, ResvRegisterAction.Register, 0n, 1n);
    await register(b, ResvRegisterAction.Register, 0n, 2n);
    await release(a, ResvReleaseAction.Clear, 0, 1n);
    expect(decodeResvNotificationLog(await b.getLogPage(LogId.ReservationNotification, 64)).type).toBe(ResvLogType.ReservationPreempted);
  });

  test('statuses: report without EDS, short report, IEKEY on acquire, unknown action, bad mask bits', async () => {
    const t = await startTarget(null);
    const a = await host(t, HOST_A);
    await register(a, ResvRegisterAction.Register, 0n, 1n);
    expect(code((await report(a, 4096, false)).status)).toBe(NvmeStatus.HostIdInconsistentFormat);
    expect(code((await report(a, 32)).status)).toBe(NvmeStatus.InvalidField);
    // Only what fits: 64-byte header + one 64-byte entry.
    const r = await a.submit(1, encodeResvReportCommand(sqe(), { nsid: 1, length: 128 }), { dataIn: 128 });
    expect(decodeResvStatus(r.data!, true).regctls.length).toBe(1);
    const ie = await a.submit(1, encodeResvAcquireCommand(sqe(), { nsid: 1, racqa: 0, rtype: 1, iekey: true }), { dataOut: encodeResvKeys(1n, 0n) });
    expect(code(ie.status)).toBe(NvmeStatus.InvalidField);
    expect(code(await register(a, 5, 0n, 1n))).toBe(NvmeStatus.InvalidOpcode);
    expect(code(await acquire(a, ResvAcquireAction.Acquire, 9, 1n))).toBe(NvmeStatus.InvalidField);
    const bad = await a.submit(0, encodeSqe(sqe(), { opcode: AdminOpcode.SetFeatures, nsid: 1, cdw10: FeatureId.ReservationNotificationMask, cdw11: 1 }));
    expect(code(bad.status)).toBe(NvmeStatus.InvalidField);
    // PTPL on a RAM namespace: nowhere to persist.
    expect(code(await register(a, ResvRegisterAction.Replace, 1n, 2n, { cptpl: Cptpl.Set }))).toBe(NvmeStatus.InvalidField);
  });

  test('a namespace without reservations answers them with Invalid Opcode, and I/O is never in conflict', async () => {
    const t = await startTarget(null, { resv: false });
    const a = await host(t, HOST_A);
    expect(code(await register(a, ResvRegisterAction.Register, 0n, 1n))).toBe(NvmeStatus.InvalidOpcode);
    expect(code((await report(a)).status)).toBe(NvmeStatus.InvalidOpcode);
    expect((await a.identifyNamespace(1)).rescap).toBe(0);
  });
});

describe('Persist Through Power Loss', () => {
  test('state written beside the backing file survives a restart; PTPL off removes it', async () => {
    const file = tmpFile();
    const t1 = await startTarget(file);
    const a = await host(t1, HOST_A);
    expect(await register(a, ResvRegisterAction.Register, 0n, 0x1234n, { cptpl: Cptpl.Set })).toBe(0);
    expect(await acquire(a, ResvAcquireAction.Acquire, ResvType.WriteExclusiveRegistrantsOnly, 0x1234n)).toBe(0);
    expect(existsSync(resvStatePath(file))).toBe(true);
    expect(JSON.parse(readFileSync(resvStatePath(file), 'utf8'))).toMatchObject({ ptpl: true, rtype: 3, holder: HID_A });
    await a.close();
    await t1.stop();

    const t2 = await startTarget(file);
    const b = await host(t2, HOST_B);
    const rep = (await report(b)).data!;
    expect(rep).toMatchObject({ ptpls: true, rtype: ResvType.WriteExclusiveRegistrantsOnly, regctl: 1 });
    expect(code(await ioStatus(b.write(1, 0, pattern(512, 1))))).toBe(NvmeStatus.ReservationConflict);
    expect((await b.getFeatures(FeatureId.ReservationPersistence, { nsid: 1 })).dw0).toBe(1);
    // Set Features 83h clears PTPL: the state file goes, a restart starts clean.
    await b.setFeatures(FeatureId.ReservationPersistence, 0, { nsid: 1 });
    expect(existsSync(resvStatePath(file))).toBe(false);
    await b.close();
    await t2.stop();
    const t3 = await startTarget(file);
    const c = await host(t3, HOST_B);
    expect((await report(c)).data!).toMatchObject({ ptpls: false, rtype: 0, regctl: 0 });
  });

  test('a second owner of the same backing file is refused with an error naming the first', async () => {
    const file = tmpFile();
    await startTarget(file);
    await expect(startTarget(file)).rejects.toThrow(ReservationOwnerError);
  });

  // Per-process state would be bypassed by a second path without reservations: refused too.
  test('a path WITHOUT reservations on a file whose reservations are owned is refused; once the owner stops it is allowed', async () => {
    const file = tmpFile();
    const owner = await startTarget(file);
    await expect(startTarget(file, { resv: false })).rejects.toThrow(ReservationBypassError);
    await expect(startTarget(file, { resv: false })).rejects.toThrow(/bypass/);
    await owner.stop();
    const plain = await startTarget(file, { resv: false });
    // and while the plain path is up, nothing stops another plain one (multipath without reservations)
    await startTarget(file, { resv: false });
    await plain.stop();
  });

  test('the owner named by the lock file decides: a live other process refuses the plain path, a dead one does not', async () => {
    const file = tmpFile();
    writeFileSync(resvLockPath(file), `${process.ppid}\n`);
    const err = await startTarget(file, { resv: false }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ReservationBypassError);
    expect((err as ReservationBypassError).ownerPid).toBe(process.ppid);
    expect(String(err)).toContain(`pid ${process.ppid}`);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(resvLockPath(file), `${dead}\n`);
    await startTarget(file, { resv: false });
  });
});

/**
 * A separate, live process holding `path` open (like a plain nvmet-ts namespace
 * in another process would); it exits on its own after 60 s at the latest.
 */
async function otherOpener(path: string): Promise<{ pid: number; exit(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['-e', 'const fd = require("node:fs").openSync(process.argv[1], "r+"); process.stdout.write("open\\n"); setTimeout(() => require("node:fs").closeSync(fd), 60000);', path],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const pid = child.pid!;
  const exited = once(child, 'exit');
  const exit = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    await exited;
  };
  cleanup.push(exit);
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    exited.then(() => { throw new Error('opener child exited before opening the file'); }),
  ])) as [Buffer];
  expect(line.toString()).toBe('open\n');
  return { pid, exit };
}

describe('reservations refused over a file another path already serves (the plain path first)', () => {
  test('another live process with the file open (opened through a symlink: dev+ino, not the path) refuses resv, naming its pid; once it exits resv is allowed', async () => {
    const file = tmpFile();
    writeFileSync(file, Buffer.alloc(1 << 20));
    const alias = `${file}.alias`;
    symlinkSync(file, alias);
    const other = await otherOpener(alias);
    expect(await findOtherOpener(file)).toBe(other.pid);
    const err = await startTarget(file).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ReservationBypassError);
    expect((err as ReservationBypassError).ownerPid).toBe(other.pid);
    expect((err as ReservationBypassError).opener).toBe(true);
    expect(String(err)).toContain(`pid ${other.pid}`);
    // the refused enable leaves no owner lock behind
    expect(existsSync(resvLockPath(file))).toBe(false);
    await other.exit();
    expect(await findOtherOpener(file)).toBe(null);
    const t = await startTarget(file);
    const c = await host(t, HOST_A);
    expect(await register(c, ResvRegisterAction.Register, 0n, 7n)).toBe(0);
  });

  test('this process\'s own descriptors are not another opener; a plain namespace of this process on the file refuses resv until it is disabled', async () => {
    const file = tmpFile();
    const plain = await startTarget(file, { resv: false });
    expect(await findOtherOpener(file)).toBe(null);
    const err = await startTarget(file).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ReservationBypassError);
    expect((err as ReservationBypassError).ownerPid).toBe(process.pid);
    expect((err as ReservationBypassError).opener).toBe(true);
    expect(existsSync(resvLockPath(file))).toBe(false);
    await plain.stop();
    await startTarget(file);
  });
});

describe('preempt-and-abort waits for the preempted host\'s commands', () => {
  test('a write of the preempted host still in flight completes before the preempt does', async () => {
    const { createBackend } = await import('../../target/backend/create.js');
    const ram = createBackend({ kind: 'ram', size: 1 << 20 });
    let release: (() => void) | null = null;
    let writesStarted = 0;
    // Media that holds writes until the test lets them go (a slow disk).
    const slow = Object.assign(Object.create(Object.getPrototypeOf(ram) as object) as typeof ram, ram, {
      write(offset: number, src: Uint8Array): Promise<void> {
        writesStarted++;
        return new Promise<void>((r) => {
          release = () => {
            void Promise.resolve(ram.write(offset, src)).then(r);
          };
        });
      },
    });
    const nvmet = createNvmet({ logger: silentLogger });
    nvmet.registerTransport(new TcpTransport({}));
    cleanup.push(() => nvmet.shutdown());
    const subsys = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true });
    await subsys.addNamespace({ nsid: 1, resv: true, backend: slow }).enable();
    const port = nvmet.addPort({ portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' });
    port.addSubsystem(subsys);
    await port.enable();
    const t = { nvmet, port: Number(port.addr.trsvcid), stop: () => nvmet.shutdown() };
    const a = await host(t, HOST_A);
    const b = await host(t, HOST_B);
    await register(a, ResvRegisterAction.Register, 0n, 1n);
    await register(b, ResvRegisterAction.Register, 0n, 2n);
    await acquire(a, ResvAcquireAction.Acquire, ResvType.WriteExclusiveRegistrantsOnly, 1n);
    const w = a.write(1, 0, pattern(512, 9));
    await until(() => writesStarted === 1, 'held write');
    let preempted = false;
    const pre = acquire(b, ResvAcquireAction.PreemptAndAbort, ResvType.WriteExclusive, 2n, 1n).then((st) => {
      preempted = true;
      return st;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(preempted).toBe(false);
    release!();
    await w;
    expect(await pre).toBe(0);
  });
});
