/** The multipath rows' two configs (lib/multipath.ts): what nvmet-ts accepts and what makes one namespace with two paths. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../target/config/index.js';
import { resolveConfig } from '../../../target/config/resolve.js';
import { makePlan, nvmetcliConfig } from '../lib/plan.js';
import { GUEST_CHECKS } from '../lib/rows.js';
import { MP_ROWS, instanceBConfig, makeMultipathPlan, multipathParamsSh, withMultipath } from '../lib/multipath.js';

const plan = makePlan({ mode: 'nvmet-ts', dataDir: '/data', ctlPort: 4321, checks: GUEST_CHECKS });
const mp = makeMultipathPlan('/data');

function parsed(doc: object) {
  const r = parseConfig(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return resolveConfig(r.config, '/');
}

describe('two instances, one namespace', () => {
  const a = parsed(withMultipath(nvmetcliConfig(plan), plan, mp));
  const b = parsed(instanceBConfig(plan, mp));
  const mpA = a.subsystems.find((s) => s.nqn === mp.subnqn)!;
  const mpB = b.subsystems.find((s) => s.nqn === mp.subnqn)!;

  it('both configs are accepted; A keeps the suite\'s own subsystem untouched', () => {
    expect(a.subsystems.map((s) => s.nqn)).toEqual([plan.subnqn, mp.subnqn, mp.resvSubnqn]);
    expect(parsed(nvmetcliConfig(plan)).subsystems[0]).toEqual(a.subsystems[0]);
    expect(b.subsystems.map((s) => s.nqn)).toEqual([mp.subnqn]);
  });

  it('same serial, NSID, file, UUID, NGUID and EUI-64; disjoint cntlid ranges', () => {
    expect(mpA.serial).toBe(mpB.serial);
    const [na, nb] = [mpA.namespaces[0]!, mpB.namespaces[0]!];
    for (const k of ['nsid', 'backing', 'uuid', 'nguid', 'eui64', 'anaGrpid'] as const) expect(na[k]).toEqual(nb[k]);
    expect(na.eui64).toMatch(/^[0-9a-f]{16}$/);
    expect(mpA.cntlidMax < mpB.cntlidMin || mpB.cntlidMax < mpA.cntlidMin).toBe(true);
  });

  it('A serves the shared namespace non-optimized on port 1, B optimized on its own port; reservations only on A', () => {
    const grp = (ports: typeof a.ports, portid: number) => ports.find((p) => p.portid === portid)!.anaGroups.find((g) => g.grpid === mp.grpid)?.state;
    expect(grp(a.ports, 1)).toBe('non-optimized');
    expect(grp(b.ports, 1)).toBe('optimized');
    expect(b.ports.map((p) => p.trsvcid)).toEqual([String(mp.portB)]);
    const resv = a.subsystems.find((s) => s.nqn === mp.resvSubnqn)!;
    expect(resv.namespaces.map((n) => n.resv)).toEqual([true]);
    expect(a.ports.filter((p) => p.subsystems.includes(mp.resvSubnqn)).map((p) => p.portid)).toEqual([1, 2]);
    expect(mpB.namespaces.every((n) => !n.resv) && mpA.namespaces.every((n) => !n.resv)).toBe(true);
  });

  it('params-mp.sh carries what the guest compares against', () => {
    const sh = multipathParamsSh(mp);
    expect(sh).toContain(`MP_EUI64='${mp.eui64}'`);
    expect(sh).toContain(`MP_CNTLID_B='1000-1999'`);
    expect(sh).toContain(`RESV_SUBNQN='${mp.resvSubnqn}'`);
  });
});

describe('the rows of both kernels', () => {
  it('MP_ROWS (the 6.1 and 6.12 runners) are the rows mp_run_checks runs, in order, as multipath/run-612.sh reads them', () => {
    const sh = readFileSync(join(import.meta.dirname, '..', 'guest', 'checks-multipath.sh'), 'utf8');
    const hook = /^mp_run_checks\(\) \{\n((?:  run_check .*\n)+)\}/m.exec(sh);
    expect([...(hook?.[1] ?? '').matchAll(/^ *run_check ([a-z0-9-]+) /gm)].map((m) => m[1])).toEqual([...MP_ROWS]);
    const runner = readFileSync(join(import.meta.dirname, '..', 'multipath', 'run-612.sh'), 'utf8');
    expect(runner).toContain("sed -n '/^mp_run_checks() {/,/^}/s/^ *run_check \\([a-z0-9-]*\\) .*/\\1/p'");
    const ts = readFileSync(join(import.meta.dirname, '..', 'multipath', 'run-612.ts'), 'utf8');
    expect(ts).toMatch(/^const ROWS_612: readonly string\[\] = \[\.\.\.LOG_ROWS_612, \.\.\.MP_ROWS, DISC_AEN_ROW\];$/m);
    expect(ts).toMatch(/^const LOG_ROWS_612 = \['connect-default', 'effects-log', 'supported-log-pages'\] as const;$/m);
    expect(runner).toContain('ROWS="connect-default effects-log supported-log-pages $ROWS disc-aen"');
  });
});
