/** The p2pmem-staging verdict over /api/p2p/state snapshots, and the placement config. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../target/config/index.js';
import { p2pSummary, p2pVerdict } from '../lib/p2pmem.js';
import type { P2pState } from '../lib/p2pmem.js';
import { JBOF, makePlan, nvmetcliConfig } from '../lib/plan.js';
import { GUEST_CHECKS } from '../lib/rows.js';

const port = (portId: number, p2pAllocations: number, fallbacks = 0, p2pmemInUse = true) => ({ portId, p2pmemInUse, provider: '0000:05:00.0', p2pAllocations, systemAllocations: 0, fallbacks });
const full = { bdf: '0000:05:00.0', size: 256, available: 256, outstanding: 0 };
const st = (ports: P2pState['ports'], providers: P2pState['providers'] = [full]): P2pState => ({ ports, providers });

describe('p2pmem-staging verdict', () => {
  it('passes when host I/O was staged in p2pmem in either target life and nothing leaked', () => {
    const lives = [st([port(1, 120)]), st([port(1, 3)])];
    expect(p2pVerdict(lives, lives[1]!)).toBeNull();
    expect(p2pSummary(lives, lives[1]!)).toMatch(/^123 staging allocations in p2pmem \(port 1 via 0000:05:00.0\)/);
  });
  it('fails without state, without p2pmem I/O, on fallbacks, on a port not using p2pmem', () => {
    expect(p2pVerdict([null], null)).toMatch(/no p2p state/);
    expect(p2pVerdict([st([port(1, 0)])], st([port(1, 0)]))).toMatch(/no I\/O was staged/);
    expect(p2pVerdict([st([port(1, 5, 2)])], st([port(1, 5, 2)]))).toMatch(/2 I\/O\(s\) fell back/);
    expect(p2pVerdict([st([port(1, 5), port(2, 0, 0, false)])], st([port(1, 5), port(2, 0, 0, false)]))).toMatch(/port\(s\) 2 not staging/);
  });
  it('fails when p2pmem is still allocated after every host disconnected', () => {
    const leak = st([port(1, 5)], [{ ...full, available: 192, outstanding: 1 }]);
    expect(p2pVerdict([leak], leak)).toMatch(/0000:05:00.0 outstanding 1, available 192\/256/);
  });
});

describe('p2pmem placement config', () => {
  it('puts namespaces on the jbof SSDs and ports on its NIC with allow_p2pmem, accepted by the parser', () => {
    const plan = makePlan({ mode: 'nvmet-ts', dataDir: '/data', ctlPort: 1, checks: GUEST_CHECKS, p2pmem: true });
    const c = nvmetcliConfig(plan) as { ports: Array<{ param: Record<string, string>; nvmet_ts: { nic: string } }>; subsystems: Array<{ namespaces: Array<{ p2pmem: boolean; nvmet_ts: { nvme: string } }> }> };
    expect(c.ports.map((p) => [p.param.allow_p2pmem, p.nvmet_ts.nic])).toEqual([['1', JBOF.nic], ['1', JBOF.nic]]);
    expect(c.subsystems[0]!.namespaces.map((n) => [n.p2pmem, n.nvmet_ts.nvme])).toEqual([[true, JBOF.ssds[0]], [true, JBOF.ssds[1]]]);
    const r = parseConfig(c);
    expect(r.ok ? [] : r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
  });
});
