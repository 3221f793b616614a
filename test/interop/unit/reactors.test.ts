/** The reactors row (lib/reactors.ts): instance R's config, the guest's params, the runner's verdict. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../target/config/index.js';
import { resolveConfig } from '../../../target/config/resolve.js';
import { makePlan } from '../lib/plan.js';
import { GUEST_CHECKS } from '../lib/rows.js';
import { RX_ROW, makeReactorsPlan, reactorsCmd, reactorsConfig, reactorsParamsSh, reactorsVerdict, unitsCover } from '../lib/reactors.js';
import type { ReactorsSnapshot, SnapshotFile } from '../lib/reactors.js';

const plan = makePlan({ mode: 'nvmet-ts', dataDir: '/data', ctlPort: 4321, checks: GUEST_CHECKS });
const rx = makeReactorsPlan();

describe('instance R', () => {
  it('its config is the suite\'s shape with RAM namespaces on its own port and subsystem', () => {
    const r = parseConfig(reactorsConfig(plan, rx));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const c = resolveConfig(r.config, '/');
    expect(c.ports.map((p) => p.trsvcid)).toEqual([String(rx.port)]);
    expect(c.subsystems.map((s) => s.nqn)).toEqual([rx.subnqn]);
    expect(rx.subnqn).not.toBe(plan.subnqn);
    const s = c.subsystems[0]!;
    expect(s.allowAnyHost).toBe(false);
    expect(s.serial).toBe(rx.serial);
    expect(s.namespaces.map((n) => [n.nsid, n.backing])).toEqual([[1, { kind: 'ram', bytes: 128 << 20 }], [2, { kind: 'ram', bytes: 128 << 20 }]]);
  });

  it('is the suite\'s target command with --reactors', () => {
    expect(reactorsCmd('node bin/nvmet-ts.js --config {config}', rx)).toBe('node bin/nvmet-ts.js --config {config} --reactors 2');
    const sh = reactorsParamsSh(rx);
    expect(sh).toContain(`RX_SUBNQN='${rx.subnqn}'`);
    expect(sh).toContain("RX_PORT='4422'");
    expect(sh).toContain("RX_QUEUES='4'");
    expect(sh).toContain("RX_FIO_JOB_MIB='16'");
  });

  it('is a guest check of the default run', () => {
    expect(GUEST_CHECKS).toContain(RX_ROW);
  });
});

describe('the verdict', () => {
  let A: string;
  beforeEach(() => { A = mkdtempSync(join(tmpdir(), 'rx-unit-')); });
  afterEach(() => { rmSync(A, { recursive: true, force: true }); });

  const MiB = 1 << 20;
  const fioBytes = rx.fioJobs * rx.fioJobBytes;
  const smart = (reads: number, writes: number, rb: number, wb: number) => JSON.stringify({
    critical_warning: 0, data_units_read: String(Math.ceil(rb / 512000)), data_units_written: String(Math.ceil(wb / 512000)),
    host_read_commands: String(reads), host_write_commands: String(writes),
  });
  /** the guest's artifacts: connect-time reads, then fio (ios each way), then the two 4 MiB dd patterns in 64 KiB blocks */
  function artifacts(o: { ios?: number; fioWritten?: number; extraWrites?: number } = {}): void {
    const ios = o.ios ?? 700;
    const written = o.fioWritten ?? fioBytes;
    const rb0 = 40 * 4096;
    writeFileSync(join(A, 'rx-smart-0.json'), smart(40, 0, rb0, 0));
    writeFileSync(join(A, 'rx-smart-1.json'), smart(40 + ios, ios + (o.extraWrites ?? 0), rb0 + fioBytes, fioBytes * (o.extraWrites ? 2 : 1)));
    writeFileSync(join(A, 'rx-smart-2.json'), smart(40 + ios + 128, ios + 128 + (o.extraWrites ?? 0), rb0 + fioBytes + 8 * MiB, fioBytes * (o.extraWrites ? 2 : 1) + 8 * MiB));
    writeFileSync(join(A, 'rx-fio.json'), `note: a line before the JSON\n${JSON.stringify({ jobs: [{ jobname: 'reactors', error: 0, read: { io_bytes: fioBytes, total_ios: ios }, write: { io_bytes: written, total_ios: ios } }] })}`);
    writeFileSync(join(A, 'rx-cntlid.txt'), '1\n');
    writeFileSync(join(A, 'rx-cpu-qid.txt'), 'cpu 0 qid 1\ncpu 1 qid 2\ncpu 2 qid 3\ncpu 3 qid 4\n');
  }
  const snap = (b: Partial<ReactorsSnapshot> = {}): SnapshotFile => ({
    ok: true, at: 'now',
    body: {
      event_loops: 2, handed_over: 2, local_commands: 900, forwarded_commands: 3,
      reactors: [{ reactor: 1, connections: [{ port: 1, qid: 1, cntlid: 1, peer: '127.0.0.1:1' }, { port: 1, qid: 3, cntlid: 1, peer: '127.0.0.1:3' }] }],
      ...b,
    },
  });
  const verdict = (snapshot: SnapshotFile | null) => reactorsVerdict({ rx, snapshot, artifacts: A });

  it('passes when the reactor served some of the guest\'s I/O queues, ran Read/Write and the SMART deltas equal the I/O', () => {
    artifacts();
    const v = verdict(snap());
    expect(v.fail).toBeNull();
    expect(v.summary).toMatch(/^cntlid 1: qid 1,3 on reactor 1, admin \+ qid 2,4 on the main thread; 900 of 1696 Read\/Write commands ran on the reactor \(3 forwarded\); fio 64 MiB crc32c ok; dd patterns CPU 0 \(qid 1, reactor\) -> CPU 1 \(qid 2, main thread\) and back intact; SMART deltas = fio 64 MiB \+ dd 8 MiB each way/);
  });

  it('fails when the target did not use its reactor for this host', () => {
    artifacts();
    expect(verdict(snap({ local_commands: 0 })).fail).toMatch(/local_commands 0/);
    expect(verdict(snap({ reactors: [{ reactor: 1, connections: [{ port: 1, qid: 1, cntlid: 7, peer: 'x' }] }] })).fail).toMatch(/no I\/O queue of the guest's controller \(cntlid 1\)/);
    expect(verdict(snap({ event_loops: 1 })).fail).toMatch(/event_loops 1/);
    const all = [1, 2, 3, 4].map((qid) => ({ port: 1, qid, cntlid: 1, peer: 'x' }));
    expect(verdict(snap({ reactors: [{ reactor: 1, connections: all }] })).fail).toMatch(/none on the main thread/);
  });

  it('fails when the SMART log lost or doubled the reactor\'s counts', () => {
    artifacts({ extraWrites: 700 });
    expect(verdict(snap()).fail).toMatch(/SMART data units grew by \d+ written/);
    artifacts({ ios: 700 });
    writeFileSync(join(A, 'rx-smart-1.json'), smart(40 + 100, 100, 40 * 4096 + fioBytes, fioBytes));
    expect(verdict(snap()).fail).toMatch(/SMART host commands grew by 100 writes \/ 100 reads over fio, which issued 700 \/ 700/);
  });

  it('fails when fio did not do all its I/O, or an artifact is missing', () => {
    artifacts({ fioWritten: fioBytes - 4096 });
    expect(verdict(snap()).fail).toMatch(/fio wrote 67104768 and verified 67108864 bytes/);
    rmSync(join(A, 'rx-smart-2.json'));
    expect(verdict(snap()).fail).toMatch(/rx-smart-2.json missing/);
  });

  it('fails without GET /api/reactors (nothing else tells which loop served the host)', () => {
    artifacts();
    expect(verdict({ ok: false, at: 'now', why: 'no GET /api/reactors in this build' }).fail).toBe('no evidence the target used its reactor: no GET /api/reactors in this build');
    expect(verdict(null).fail).toMatch(/never asked/);
  });

  it('data units: at most one unit of rounding either way', () => {
    expect(unitsCover(131n, 64 * MiB)).toBe(true);
    expect(unitsCover(132n, 64 * MiB)).toBe(true);
    expect(unitsCover(130n, 64 * MiB)).toBe(false);
    expect(unitsCover(262n, 64 * MiB)).toBe(false);
  });
});
