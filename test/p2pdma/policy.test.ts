import { describe, expect, it } from 'vitest';
import {
  formatFindExplanation, pairDistance, unwrap, type P2pdma, type P2pPolicy,
} from '../../src/p2pdma/index.js';
import { loadBuiltinTopology } from '../../src/pci/index.js';
import { dev, parsed, seq, sys, withPolicy } from './helpers.js';
import { readFileSync } from 'node:fs';
import { builtinTopologyPath } from '../../src/pci/index.js';

function listOf(p: P2pdma, ...bdfs: string[]) {
  const list = p.createClientList();
  for (const b of bdfs) unwrap(p.addClient(list, b));
  return list;
}

function distances(p: P2pdma, ...clients: string[]): Record<string, number | string> {
  const list = listOf(p, ...clients);
  const out: Record<string, number | string> = {};
  for (const c of p.explainFind(list).candidates) {
    out[c.provider.slice(5)] = c.distance !== null && c.distance >= 0 ? c.distance : (c.reason as string);
  }
  return out;
}

function pair(p: P2pdma, a: string, b: string) {
  return pairDistance(p.policy, p.topology, dev(p, a), dev(p, b));
}

describe('v3 policy (the seed series; alias same-switch)', () => {
  it('JBOF: 0 for the provider itself, +1 per other client behind the switch', () => {
    const p = sys('default');
    expect(p.policy).toBe('v3');
    expect(withPolicy('default', 'same-switch').policy).toBe('v3');
    expect(distances(p, '03:00.0', '04:00.0', '05:00.0')).toEqual({ '04:00.0': 2, '05:00.0': 2, '06:00.0': 3 });
    expect(distances(p, '03:00.0', '04:00.0')).toEqual({ '04:00.0': 1, '05:00.0': 2, '06:00.0': 2 });
    expect(distances(p, '03:00.0')).toEqual({ '04:00.0': 1, '05:00.0': 1, '06:00.0': 1 });
  });

  it('a provider that is also a client wins, whatever the random source says', () => {
    for (const r of [0, 0.5, 0.999]) {
      const p = sys('default', { random: () => r });
      expect(p.find(listOf(p, '03:00.0', '04:00.0'))?.bdf).toBe('0000:04:00.0');
    }
  });

  it('ties are broken by the injected random source and the choice is bound to the list', () => {
    const pick = (r: number) => {
      const p = sys('default', { random: () => r });
      const list = listOf(p, '03:00.0');
      const f = p.find(list);
      expect(list.provider).toBe(f);
      return f?.bdf;
    };
    expect(pick(0)).toBe('0000:04:00.0');
    expect(pick(0.34)).toBe('0000:05:00.0');
    expect(pick(0.9999)).toBe('0000:06:00.0');
    const p = sys('default', { random: seq(0.99, 0) });
    const { provider, explanation } = p.findExplained(listOf(p, '03:00.0', '04:00.0', '05:00.0'));
    expect(explanation.ties).toEqual(['0000:04:00.0', '0000:05:00.0']);
    expect(explanation.closestDistance).toBe(2);
    expect(provider?.bdf).toBe('0000:05:00.0');
    expect(explanation.chosen).toBe('0000:05:00.0');
  });

  it('devices directly under root ports are rejected, including a provider with no upstream bridge port (v3 returned 0)', () => {
    const p = sys('root-ports');
    const list = listOf(p, '02:00.0');
    // v3's pci_p2pdma_distance returned false (0) here; we treat it as incompatible
    expect(p.distance('02:00.0', list)).toBe(-1);
    expect(p.explainDistance('02:00.0', list).reason).toBe('not behind a switch: 0000:02:00.0 sits directly under root port 0000:00:02.0');
    expect(p.distance('02:00.0', p.createClientList())).toBe(-1);
    expect(p.find(listOf(p, '01:00.0', '02:00.0'))).toBeNull();
    expect(p.explainFind(listOf(p, '01:00.0')).candidates.every((c) => c.distance === -1 && /^not behind a switch/.test(c.reason!))).toBe(true);
    expect(p.assignProvider('02:00.0', list)).toBe(false);
  });

  it('a client directly under a root port is rejected by a provider behind a switch', () => {
    const j = JSON.parse(readFileSync(builtinTopologyPath('default'), 'utf8'));
    j.rootPorts.push({ bdf: '0000:00:02.0', link: { gen: 3, width: 4 }, children: ['0000:07:00.0'] });
    j.endpoints.push({ bdf: '0000:07:00.0', kind: 'rnic', link: { gen: 3, width: 4 } });
    const p = sys(parsed(j));
    const v = p.explainDistance('06:00.0', listOf(p, '07:00.0'));
    expect(v.distance).toBe(-1);
    expect(v.reason).toBe('0000:07:00.0: not behind a switch: 0000:07:00.0 sits directly under root port 0000:00:02.0');
  });

  it('different switches are incompatible and say which upstream ports differ', () => {
    const p = sys('different-switches');
    expect(distances(p, '03:00.0', '04:00.0')).toEqual({
      '04:00.0': 1,
      '07:00.0': '0000:03:00.0: different switch: 0000:05:00.0 vs 0000:01:00.0',
      '08:00.0': '0000:03:00.0: different switch: 0000:05:00.0 vs 0000:01:00.0',
    });
    expect(p.find(listOf(p, '03:00.0', '07:00.0'))).toBeNull();
    expect(pair(p, '04:00.0', '07:00.0').reason).toBe('different switch: 0000:01:00.0 vs 0000:05:00.0');
  });

  it('only the nearest switch counts in a two-level fabric', () => {
    const p = sys('two-level-switch');
    expect(p.find(listOf(p, '03:00.0', '06:00.0'))).toBeNull();
    expect(pair(p, '06:00.0', '03:00.0').reason).toBe('different switch: 0000:04:00.0 vs 0000:01:00.0');
    // two NVMe SSDs behind the same leaf switch are fine
    expect(distances(p, '06:00.0', '07:00.0')['06:00.0']).toBe(1);
  });

  it('ignores ACS (the series cleared ACS P2P bits behind switches at boot)', () => {
    const p = sys('acs-redirect');
    expect(p.find(listOf(p, '03:00.0', '04:00.0'))?.bdf).toBe('0000:04:00.0');
  });
});

describe('linux-4.20 policy (alias upstream-bridge)', () => {
  it('0 same function, 2 two functions of one device, 4 under one switch', () => {
    const jbof = withPolicy('default', 'upstream-bridge');
    expect(pair(jbof, '04:00.0', '04:00.0').distance).toBe(0);
    expect(pair(jbof, '04:00.0', '03:00.0').distance).toBe(4);
    expect(pair(jbof, '04:00.0', '03:00.0').note).toBe('common upstream bridge 0000:01:00.0');
    const rp = withPolicy('root-ports', 'upstream-bridge');
    expect(pair(rp, '05:00.0', '05:00.1').distance).toBe(2);
    expect(pair(rp, '05:00.0', '05:00.1').note).toBe('common upstream bridge 0000:00:05.0');
  });

  it('JBOF: the provider that is a client wins; ties are random', () => {
    const p = withPolicy('default', 'upstream-bridge');
    expect(distances(p, '03:00.0', '04:00.0')).toEqual({ '04:00.0': 4, '05:00.0': 8, '06:00.0': 8 });
    expect(p.find(listOf(p, '03:00.0', '04:00.0'))?.bdf).toBe('0000:04:00.0');
    expect(distances(p, '03:00.0')).toEqual({ '04:00.0': 4, '05:00.0': 4, '06:00.0': 4 });
    const q = withPolicy('default', 'upstream-bridge', () => 0.7);
    expect(q.find(listOf(q, '03:00.0'))?.bdf).toBe('0000:06:00.0');
    expect(distances(p)).toEqual({ '04:00.0': 'no clients', '05:00.0': 'no clients', '06:00.0': 'no clients' });
  });

  it('hop counts grow through a switch hierarchy', () => {
    const p = withPolicy('two-level-switch', 'upstream-bridge');
    expect(pair(p, '06:00.0', '03:00.0').distance).toBe(6); // 4 up to sw-top's upstream port, 2 down
    expect(pair(p, '0b:00.0', '06:00.0').distance).toBe(8);
    expect(distances(p, '03:00.0', '06:00.0')).toEqual({ '06:00.0': 6, '0b:00.0': 14 });
    expect(p.find(listOf(p, '03:00.0', '06:00.0'))?.bdf).toBe('0000:06:00.0');
    expect(distances(p, '06:00.0', '07:00.0')).toEqual({ '06:00.0': 4, '0b:00.0': 16 });
  });

  it('−1 without a common upstream bridge below the root complex', () => {
    const p = withPolicy('different-switches', 'upstream-bridge');
    const v = pair(p, '08:00.0', '03:00.0');
    expect(v.distance).toBe(-1);
    expect(v.reason).toBe('no common upstream bridge below the root complex (0000:08:00.0 is under root port 0000:00:02.0, 0000:03:00.0 under root port 0000:00:01.0)');
    expect(p.find(listOf(p, '03:00.0', '07:00.0'))).toBeNull();
    expect(p.find(listOf(p, '03:00.0', '04:00.0'))?.bdf).toBe('0000:04:00.0');
    const rp = withPolicy('root-ports', 'upstream-bridge');
    expect(rp.find(listOf(rp, '01:00.0', '02:00.0'))).toBeNull();
    // but the dual-function device is fine on its own root port
    expect(distances(rp, '05:00.0', '05:00.1')['05:00.0']).toBe(2);
  });

  it('refuses (−1, as pci_p2pdma_distance_many returns for upstream_bridge_distance\'s −2) when ACS redirect is set on the path, naming the port', () => {
    const p = withPolicy('acs-redirect', 'upstream-bridge');
    expect(pair(p, '04:00.0', '03:00.0')).toMatchObject({ distance: -1, refusal: 'acs-redirect', reason: 'ACS redirect on 0000:02:01.0' });
    expect(pair(p, '06:00.0', '04:00.0')).toMatchObject({ distance: -1, refusal: 'acs-redirect', reason: 'ACS redirect on 0000:02:01.0' });
    expect(pair(p, '04:00.0', '05:00.0')).toMatchObject({ distance: -1, refusal: 'acs-redirect', reason: 'ACS redirect on 0000:02:01.0, 0000:02:02.0' });
    expect(pair(p, '06:00.0', '03:00.0').distance).toBe(4); // SV alone does not redirect
    expect(p.distance('04:00.0', listOf(p, '03:00.0', '04:00.0'))).toBe(-1);
    expect(p.find(listOf(p, '03:00.0', '04:00.0'))).toBeNull();
    expect(p.find(listOf(p, '03:00.0'))?.bdf).toBe('0000:06:00.0');
  });
});

describe('linux-6.1 policy: through the host bridge when the CPU or the allow list says so', () => {
  it('allows P2P between root ports under an allow-listed host bridge, at the plain hop distance', () => {
    const p = withPolicy('root-ports', 'linux-6.1');
    expect(p.topology.hostBridge.hostBridgeDev?.deviceId).toBe(0x2020);
    const v = pair(p, '02:00.0', '01:00.0');
    // no common bridge: dist_a + dist_b = 2 + 2; no 0x1000 penalty in 6.1
    expect(v).toMatchObject({ distance: 4, reason: null, viaRootComplex: true, mapType: 'thru-host-bridge' });
    expect(distances(p, '01:00.0', '02:00.0')).toEqual({
      '02:00.0': 4,
      '04:00.0': 8,
      '05:00.0': 8,
      '05:00.1': 8,
    });
    expect(p.find(listOf(p, '01:00.0', '02:00.0'))?.bdf).toBe('0000:02:00.0');
    // two functions of one device keep bus addresses
    expect(pair(p, '05:00.0', '05:00.1')).toMatchObject({ distance: 2, mapType: 'bus-addr' });
  });

  it('refuses like linux-4.20 when neither the CPU nor the host bridge qualifies', () => {
    const p = withPolicy('different-switches', 'linux-6.1');
    const v = pair(p, '07:00.0', '03:00.0');
    expect(v.distance).toBe(-1);
    expect(v.refusal).toBe('host-bridge-not-whitelisted');
    expect(v.reason).toMatch(/^no common upstream bridge below the root complex .*nor host bridge pci0000:00 \[1b36:000c\] is on the P2PDMA allow list$/);
    const acs = withPolicy('acs-redirect', 'linux-6.1');
    expect(pair(acs, '04:00.0', '03:00.0')).toMatchObject({ distance: -1, refusal: 'acs-redirect' });
  });

  it('ACS-redirected traffic goes through an allow-listed host bridge, without a penalty', () => {
    const j = JSON.parse(readFileSync(builtinTopologyPath('acs-redirect'), 'utf8'));
    j.rootComplex = { vendor: '0x8086', device: '0x2020' };
    const p = sys(parsed(j), { policy: 'linux-6.1' });
    expect(pair(p, '04:00.0', '03:00.0')).toMatchObject({ distance: 4, viaRootComplex: true, mapType: 'thru-host-bridge' });
    expect(distances(p, '03:00.0', '04:00.0')).toEqual({ '04:00.0': 4, '05:00.0': 8, '06:00.0': 8 });
    expect(p.find(listOf(p, '03:00.0', '04:00.0'))?.bdf).toBe('0000:04:00.0');
  });

  it('the same lists differ by policy on the same fabric', () => {
    const results = (['v3', 'linux-4.20', 'linux-6.1'] as P2pPolicy[]).map((policy) => {
      const p = sys(loadBuiltinTopology('root-ports'), { policy, random: () => 0 });
      return p.find(listOf(p, '01:00.0', '04:00.0'))?.bdf ?? null;
    });
    expect(results).toEqual([null, null, '0000:04:00.0']);
  });
});

describe('explanations', () => {
  it('lists each provider with its distance or the reason it was rejected', () => {
    const j = JSON.parse(readFileSync(builtinTopologyPath('different-switches'), 'utf8'));
    j.endpoints[1].cmb.rds = false; // 04:00.0 registered but not published
    const p = sys(parsed(j), { random: () => 0 });
    const list = listOf(p, '07:00.0');
    const { provider, explanation } = p.findExplained(list);
    expect(provider?.bdf).toBe('0000:07:00.0');
    expect(explanation.clients).toEqual(['0000:07:00.0']);
    expect(explanation.candidates.map((c) => [c.provider, c.distance, c.reason])).toEqual([
      ['0000:04:00.0', null, 'not published'],
      ['0000:07:00.0', 0, null],
      ['0000:08:00.0', 1, null],
    ]);
    const text = formatFindExplanation(explanation);
    expect(text).toContain('policy v3; clients 0000:07:00.0');
    expect(text).toContain('0000:04:00.0  skipped: not published');
    expect(text).toContain('0000:07:00.0  distance 0  (chosen)');
    expect(text).toContain('0000:08:00.0  distance 1');
    const q = sys(parsed(j));
    const t2 = formatFindExplanation(q.explainFind(listOf(q, '03:00.0', '07:00.0')));
    expect(t2).toContain('rejected (-1): 0000:03:00.0: different switch: 0000:05:00.0 vs 0000:01:00.0');
    expect(t2).toContain('no compatible published provider');
  });

  it('explains ACS and root-complex decisions', () => {
    const p = withPolicy('acs-redirect', 'upstream-bridge');
    const e = p.explainFind(listOf(p, '03:00.0', '04:00.0'));
    expect(e.candidates.find((c) => c.provider === '0000:04:00.0')).toMatchObject({ distance: -1, reason: '0000:03:00.0: ACS redirect on 0000:02:01.0' });
    const w = withPolicy('root-ports', 'linux-6.1');
    const text = formatFindExplanation(w.explainFind(listOf(w, '01:00.0')));
    expect(text).toContain('0000:02:00.0  distance 4 (through the host bridge)');
    expect(text).toMatch(/0000:01:00.0: 4 — through the host bridge \(no common upstream bridge .*; allowed by host bridge pci0000:00 \[8086:2020\] on pci_p2pdma_whitelist\)/);
  });
});

describe('find keeps at most PAGE_SIZE/8 equally close candidates', () => {
  it('caps ties at 512 and never picks beyond them', () => {
    // Three conventional PCI bridges with 32 eight-function p2pmem devices each (768 providers),
    // each bridge behind its own switch downstream port; all equidistant from the RNIC.
    const j: Record<string, any> = {
      rootPorts: [{ bdf: '0000:00:01.0', link: { gen: 3, width: 16 }, children: ['sw0'] }],
      switches: [{
        name: 'sw0',
        upstream: { bdf: '0000:01:00.0', link: { gen: 3, width: 16 } },
        downstream: [0, 1, 2, 3].map((i) => ({ bdf: `0000:02:0${i}.0`, link: { gen: 3, width: 4 }, children: [i === 3 ? '0000:09:00.0' : `br${i}`] })),
      }],
      bridges: [0, 1, 2].map((i) => ({ name: `br${i}`, bdf: `0000:0${3 + 2 * i}:00.0`, children: [] as string[] })),
      endpoints: [{ bdf: '0000:09:00.0', kind: 'rnic' }],
    };
    for (let b = 0; b < 3; b++) {
      const bus = (4 + 2 * b).toString(16).padStart(2, '0');
      for (let d = 0; d < 32; d++) {
        for (let f = 0; f < 8; f++) {
          const bdf = `0000:${bus}:${d.toString(16).padStart(2, '0')}.${f}`;
          j.bridges[b].children.push(bdf);
          j.endpoints.push({ bdf, kind: 'p2pmem', bars: [{ index: 0, size: '4K' }] });
        }
      }
    }
    const p = sys(parsed(j), { policy: 'upstream-bridge', random: () => 0.99999 });
    expect(p.providers()).toHaveLength(768);
    const { provider, explanation } = p.findExplained(listOf(p, '09:00.0'));
    expect(explanation.closestDistance).toBe(5);
    expect(explanation.ties).toHaveLength(512);
    expect(explanation.ties[511]).toBe('0000:06:1f.7'); // the 512th in bus order
    expect(provider?.bdf).toBe('0000:06:1f.7');
  });
});
