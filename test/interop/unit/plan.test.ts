/** The run plan as the target's config and the guest's params; results parsing and the table. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../target/config/index.js';
import { makePlan, nvmetcliConfig, paramsSh, targetPorts, uuidFormNguid } from '../lib/plan.js';
import { collectRows, counts, parseResults, table } from '../lib/report.js';
import { GUEST_CHECKS, ROWS } from '../lib/rows.js';
import { runSync } from '../lib/proc.js';
import { expandCmd } from '../lib/target.js';

const tmp = mkdtempSync(join(tmpdir(), 'interop-plan-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const plan = makePlan({ mode: 'nvmet-ts', dataDir: '/data', ctlPort: 4321, checks: GUEST_CHECKS });

describe('plan', () => {
  it('is accepted by nvmet-ts\'s own nvmetcli config parser, without warnings', () => {
    const r = parseConfig(nvmetcliConfig(plan));
    expect(r.ok ? [] : r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it('describes one subsystem for two allowed hosts on both ports, file-backed', () => {
    const c = nvmetcliConfig(plan) as { ports: Array<{ addr: { trsvcid: string; traddr: string }; subsystems: string[] }>; subsystems: Array<{ allowed_hosts: string[]; attr: Record<string, string>; namespaces: Array<{ device: { path: string; nguid: string } }> }> };
    expect(c.ports.map((p) => p.addr.trsvcid)).toEqual(['4420', '8009']);
    expect(c.ports.every((p) => p.addr.traddr === '127.0.0.1' && p.subsystems[0] === plan.subnqn)).toBe(true);
    const s = c.subsystems[0]!;
    expect(s.attr.allow_any_host).toBe('0');
    expect(s.allowed_hosts).toEqual([plan.host.nqn, plan.altHost.nqn]);
    expect(s.allowed_hosts).not.toContain(plan.deniedHost.nqn);
    expect(s.namespaces.map((n) => n.device.path)).toEqual(['/data/ns1.img', '/data/ns2.img']);
    expect(s.namespaces[0]!.device.nguid.replaceAll('-', '')).toBe(plan.namespaces[0]!.nguid);
    expect(plan.serial.length).toBeLessThanOrEqual(20);
    expect(targetPorts(plan)).toEqual([4420, 8009]);
    expect(targetPorts({ ...plan, discPort: null })).toEqual([4420]);
  });

  it('writes params.sh that sh reads back unchanged, quotes included', () => {
    const p = { ...plan, model: "it's \"quoted\" $HOME" };
    const f = join(tmp, 'params.sh');
    writeFileSync(f, paramsSh(p));
    const r = runSync(['sh', '-c', `. ${f}; printf '%s\\n' "$MODEL" "$SUBNQN" "$NS2_NGUID" "$CHECKS" "$DISC_PORT" "$NSIDS"`]);
    expect(r.stdout.split('\n').slice(0, 6)).toEqual([p.model, p.subnqn, p.namespaces[1]!.nguid, GUEST_CHECKS.join(' '), '8009', '1 2']);
  });

  it('formats NGUIDs the way nvmetcli stores them', () => {
    expect(uuidFormNguid('00112233445566778899aabbccddeeff')).toBe('00112233-4455-6677-8899-aabbccddeeff');
  });

  it('expands the target command placeholders', () => {
    expect(expandCmd('t --config {config} --api {api} --port {apiPort} --data-dir {dataDir}', { configFile: '/c.json', apiPort: 8420, dataDir: '/d' }))
      .toBe('t --config /c.json --api 127.0.0.1:8420 --port 8420 --data-dir /d');
  });
});

describe('results', () => {
  it('parses the guest lines; unknown statuses count as failures', () => {
    const m = parseResults('id-ctrl\tpass\t0.5\tok\nlist\tweird\t1\tx\tand tab\n\nbroken\n');
    expect(m.get('id-ctrl')).toEqual({ status: 'pass', seconds: 0.5, reason: 'ok' });
    expect(m.get('list')).toEqual({ status: 'fail', seconds: 1, reason: 'x\tand tab' });
    expect(m.has('broken')).toBe(false);
  });

  it('fails every wanted row the guest never reported, keeps catalog order', () => {
    writeFileSync(join(tmp, 'results.txt'), 'list\tpass\t1.0\tok\ndiscover-text\tskip\t0.1\tno\n');
    const rows = collectRows(tmp, ['list', 'discover-text', 'id-ctrl', 'wire-check'], 'guest stopped');
    expect(rows.map((r) => [r.id, r.status])).toEqual([['discover-text', 'skip'], ['list', 'pass'], ['id-ctrl', 'fail'], ['wire-check', 'fail']]);
    expect(rows[2]!.reason).toMatch(/no result from the guest \(guest stopped\)/);
    expect(counts(rows)).toEqual({ pass: 1, fail: 2, skip: 1, pending: 0 });
    const t = table(rows);
    expect(t.split('\n')).toHaveLength(2 + rows.length);
    expect(t).toMatch(/list\s+PASS\s+1\.0s\s+ok/);
  });

  it('every guest check has a row and run_check line, and nothing else does', () => {
    const main = readFileSync(join(import.meta.dirname, '..', 'guest', 'checks.sh'), 'utf8');
    const mp = readFileSync(join(import.meta.dirname, '..', 'guest', 'checks-multipath.sh'), 'utf8');
    // checks-multipath.sh's rows run where checks.sh calls its hook (mp_run_checks)
    const hook = /^command -v mp_run_checks >\/dev\/null && mp_run_checks$/m;
    expect(main).toMatch(hook);
    const mpRuns = /^mp_run_checks\(\) \{\n((?:  run_check .*\n)+)\}/m.exec(mp);
    expect(mpRuns).not.toBeNull();
    const sh = main.replace(hook, (mpRuns?.[1] ?? '').replace(/^  /gm, '').trimEnd()) + mp;
    const ran = [...sh.matchAll(/^run_check (\S+) /gm)].map((m) => m[1]);
    expect(ran).toEqual(GUEST_CHECKS);
    for (const id of GUEST_CHECKS) expect(sh).toContain(`chk_${id.replaceAll('-', '_')}() {`);
    expect(ROWS.filter((r) => r.hostOnly).map((r) => r.id)).toEqual(['wire-check', 'p2pmem-staging']);
  });
});
