/** The blktests stage's table: parsing blktests' `check` console output and comparing two runs. */
import { describe, expect, it } from 'vitest';
import { compare, counts, parseCheckLog, renderTable } from '../blktests/table.js';
import { KNOWN_DIFFERENCES } from '../blktests/differences.js';

// As blktests' check prints it when stdout is not a terminal: the "starting" line with the
// last run's key table, then the status line, the key table, and skip reasons or the diff.
const TS_LOG = [
  'nvme/004 (tr=tcp) (test nvme and nvmet UUID NS descriptors)  ',
  '    runtime  ...  ',
  'nvme/004 (tr=tcp) (test nvme and nvmet UUID NS descriptors)  [passed]',
  '    runtime    ...  1.234s',
  'nvme/030 (tr=tcp) (ensure the discovery generation counter is updated appropriately) [not run]',
  '    runtime    ...  ',
  '    Linux kernel soft target not available',
  'nvme/041 (tr=tcp) (Create authenticated connections)        [failed]',
  '    runtime  3.1s  ...  2.9s',
  '    --- tests/nvme/041.out\t2026-08-21 00:00:00.000000000 +0000',
  '    +++ /root/results-nvmet-ts/nodev_tr_tcp/nvme/041.out.bad\t2026-12-03 14:00:00.000000000 +0000',
  '    @@ -1,5 +1,6 @@',
  '     Running nvme/041',
  '    +FAIL: nvme connect return error code',
  'nvme/051 (tr=tcp) (test nvmet concurrent ns enable/disable) [failed]',
  '    runtime  2s  ...  1s',
  '    exited with status 1',
  'nvme/068 (tr=tcp) (NVMe multipath delayed removal test) [failed]',
  '    runtime    ...  5s',
  '    exited with status 1',
  '',
].join('\n');

const K_LOG = [
  'nvme/004 (tr=tcp) (test nvme and nvmet UUID NS descriptors)  [passed]',
  '    runtime  1s  ...  1.1s',
  'nvme/030 (tr=tcp) (ensure the discovery generation counter is updated appropriately) [passed]',
  'nvme/041 (tr=tcp) (Create authenticated connections)        [passed]',
  'nvme/051 (tr=tcp) (test nvmet concurrent ns enable/disable) [passed]',
  'nvme/068 (tr=tcp) (NVMe multipath delayed removal test) [failed]',
  '    exited with status 1',
  '',
].join('\n');

describe('parseCheckLog', () => {
  const r = parseCheckLog(TS_LOG);
  it('reads one result per test and condition, with the description', () => {
    expect([...r.keys()]).toEqual(['nvme/004 (tr=tcp)', 'nvme/030 (tr=tcp)', 'nvme/041 (tr=tcp)', 'nvme/051 (tr=tcp)', 'nvme/068 (tr=tcp)']);
    expect(r.get('nvme/004 (tr=tcp)')).toMatchObject({ status: 'passed', description: 'test nvme and nvmet UUID NS descriptors', details: [] });
  });
  it('keeps skip reasons and the diff, not the runtime table', () => {
    expect(r.get('nvme/030 (tr=tcp)')!.details).toEqual(['Linux kernel soft target not available']);
    expect(r.get('nvme/041 (tr=tcp)')!.details).toContain('+FAIL: nvme connect return error code');
    expect(r.get('nvme/041 (tr=tcp)')!.details.some((d) => d.startsWith('runtime'))).toBe(false);
  });
  it('reads tests without a condition', () => {
    const m = parseCheckLog('nvme/002 (create many subsystems and test discovery)          [not run]\n    nvme_trtype=tcp is not supported in this test\n');
    expect(m.get('nvme/002')).toMatchObject({ status: 'not run', details: ['nvme_trtype=tcp is not supported in this test'] });
  });
});

describe('compare', () => {
  const rows = compare(parseCheckLog(TS_LOG), parseCheckLog(K_LOG), KNOWN_DIFFERENCES);
  const row = (id: string) => rows.find((x) => x.id === id)!;
  it('a failure against nvmet-ts where the kernel passes, with no documented reason, is unexplained', () => {
    expect(row('nvme/041 (tr=tcp)')).toMatchObject({ nvmetTs: 'failed', kernel: 'passed', unexplained: true });
    expect(row('nvme/041 (tr=tcp)').reason).toMatch(/^UNEXPLAINED: .*041/);
  });
  it('a documented difference carries its reason and is accepted', () => {
    expect(row('nvme/051 (tr=tcp)')).toMatchObject({ unexplained: false, reason: KNOWN_DIFFERENCES['nvme/051'] });
    expect(row('nvme/030 (tr=tcp)')).toMatchObject({ nvmetTs: 'not run', kernel: 'passed', unexplained: false });
  });
  it('equal results need no reason; a failure on both is shown, not blamed on nvmet-ts', () => {
    expect(row('nvme/004 (tr=tcp)')).toMatchObject({ reason: '', unexplained: false });
    expect(row('nvme/068 (tr=tcp)')).toMatchObject({ nvmetTs: 'failed', kernel: 'failed', unexplained: false });
  });
  it('counts and renders both columns', () => {
    expect(counts(rows, (x) => x.kernel)).toEqual({ passed: 4, failed: 1, 'not run': 0, missing: 0 });
    const text = renderTable(rows);
    expect(text.split('\n')[0]).toBe('nvmet-ts 1 pass / 3 fail (1 not run) vs kernel nvmet 4 pass / 1 fail (0 not run)');
    expect(text).toContain('| nvme/041 (tr=tcp) | Create authenticated connections | failed | passed | UNEXPLAINED');
  });
  it('a test missing from one run is unexplained', () => {
    const r = compare(parseCheckLog(''), parseCheckLog(K_LOG), {});
    expect(r.every((x) => x.nvmetTs === 'missing' && x.unexplained)).toBe(true);
  });
});
