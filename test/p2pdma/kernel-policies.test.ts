/**
 * Each rule of each kernel policy on a small topology that isolates it. Expected values
 * are derived by hand from the kernel sources the policies cite:
 *  v3          seed 003 (pci_p2pdma_distance, upstream_bridges_match, get_upstream_bridge_port)
 *  linux-4.20  upstream_bridge_distance / upstream_bridge_distance_warn / pci_p2pdma_distance_many
 *  linux-6.1   calc_map_type_and_dist / host_bridge_whitelist / pci_host_bridge_dev / cpu_supports_p2pdma
 */
import { describe, expect, it } from 'vitest';
import { listDistance, pairDistance, unwrap, type MapType, type P2pPolicy, type RefusalCode } from '../../src/p2pdma/index.js';
import { P2pdma } from '../../src/p2pdma/index.js';
import { renderAcs, renderTree, type PciTopology } from '../../src/pci/index.js';
import { parsed } from './helpers.js';
import { readFileSync } from 'node:fs';
import { builtinTopologyPath } from '../../src/pci/index.js';

type Json = Record<string, any>;
const g3 = (width: number) => ({ gen: 3, width });
const nvme = (bdf: string, extra: Json = {}): Json => ({
  bdf, kind: 'nvme', link: g3(4),
  bars: [{ index: 0, size: '16K' }, { index: 2, size: '1M', prefetchable: true }], cmb: { bar: 2, size: '1M' }, ...extra,
});
const rnic = (bdf: string, extra: Json = {}): Json => ({ bdf, kind: 'rnic', link: g3(8), bars: [{ index: 0, size: '1M' }], ...extra });

/** RP 00:01.0 → switch (USP 01:00.0; DSPs 02:00.0, 02:01.0) → NIC 03:00.0, SSD 04:00.0 (CMB). */
function oneSwitch(over: { dsp1?: Json; dsp0?: Json; usp?: Json; rp?: Json; top?: Json; ssd?: Json } = {}): PciTopology {
  return parsed({
    ...over.top,
    rootPorts: [{ bdf: '0000:00:01.0', link: g3(16), children: ['sw0'], ...over.rp }],
    switches: [{
      name: 'sw0',
      upstream: { bdf: '0000:01:00.0', link: g3(16), ...over.usp },
      downstream: [
        { bdf: '0000:02:00.0', link: g3(8), children: ['0000:03:00.0'], ...over.dsp0 },
        { bdf: '0000:02:01.0', link: g3(4), children: ['0000:04:00.0'], ...over.dsp1 },
      ],
    }],
    endpoints: [rnic('0000:03:00.0'), nvme('0000:04:00.0', over.ssd)],
  });
}

/** NIC 01:00.0 under RP 00:01.0, SSD 02:00.0 under RP 00:02.0; `rc` is the rootComplex object. */
function twoRootPorts(rc: Json = {}, top: Json = {}, rpIds: Json = {}): PciTopology {
  return parsed({
    rootComplex: rc,
    ...top,
    rootPorts: [
      { bdf: '0000:00:01.0', link: g3(16), children: ['0000:01:00.0'], ...rpIds },
      { bdf: '0000:00:02.0', link: g3(4), children: ['0000:02:00.0'], ...rpIds },
    ],
    endpoints: [rnic('0000:01:00.0'), nvme('0000:02:00.0')],
  });
}

/** One dual-function device (01:00.0 NIC, 01:00.1 SSD) under RP 00:01.0. */
function multiFunction(): PciTopology {
  return parsed({
    rootPorts: [{ bdf: '0000:00:01.0', link: g3(8), children: ['0000:01:00.0', '0000:01:00.1'] }],
    endpoints: [rnic('0000:01:00.0'), nvme('0000:01:00.1')],
  });
}

/** Root-complex integrated endpoints on bus 00: NIC 00:04.0, SSD 00:03.0; host bridge function 00:00.0 `ids`. */
function rciep(ids: Json = { vendor: '0x8086', device: '0x29c0' }, top: Json = {}): PciTopology {
  return parsed({ rootComplex: ids, ...top, endpoints: [nvme('0000:00:03.0'), rnic('0000:00:04.0')] });
}

/** Two host bridges (root buses 00 and 80): NIC 01:00.0 under RP 00:01.0, SSD 81:00.0 under RP 80:01.0. */
function twoHostBridges(hb0: Json = {}, hb1: Json = {}, top: Json = {}): PciTopology {
  return parsed({
    ...top,
    hostBridges: [{ bus: 0, ...hb0 }, { bus: 0x80, mmioBase: '0x8000000000', ...hb1 }],
    rootPorts: [
      { bdf: '0000:00:01.0', link: g3(16), children: ['0000:01:00.0'] },
      { bdf: '0000:80:01.0', link: g3(16), children: ['0000:81:00.0'] },
    ],
    endpoints: [rnic('0000:01:00.0'), nvme('0000:81:00.0')],
  });
}

const AMD_ZEN3 = { cpu: { vendor: 'AuthenticAMD', family: 25 } };
const SKX = { vendor: '0x8086', device: '0x2020' };

interface Expect {
  distance: number;
  mapType: MapType;
  refusal?: RefusalCode;
  /** Lines a verbose check prints (pci_p2pdma_distance(…, true)). */
  verbose?: string[];
  /** Lines a quiet check (pci_p2pmem_find) prints. */
  quiet?: string[];
}

type Row = [rule: string, topo: () => PciTopology, provider: string, client: string, byPolicy: Record<'v3' | 'linux-4.20' | 'linux-6.1', Expect>];

const refused = (refusal: RefusalCode, verbose: string[] = [], quiet: string[] = []): Expect => ({ distance: -1, mapType: 'not-supported', refusal, verbose, quiet });
const bus = (distance: number): Expect => ({ distance, mapType: 'bus-addr', verbose: [], quiet: [] });
const thru = (distance: number, verbose: string[] = [], quiet: string[] = []): Expect => ({ distance, mapType: 'thru-host-bridge', verbose, quiet });

const NOT_SHARE_420 = (c: string, p: string) => `pci ${c}: cannot be used for peer-to-peer DMA as the client and provider (${p}) do not share an upstream bridge`;
const NOT_SHARE_61 = (c: string, p: string) => `pci ${c}: cannot be used for peer-to-peer DMA as the client and provider (${p}) do not share an upstream bridge or whitelisted host bridge`;
const ACS_420 = (c: string, p: string, list: string) => [
  `pci ${c}: cannot be used for peer-to-peer DMA as ACS redirect is set between the client and provider (${p})`,
  `pci ${c}: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=${list}`,
];
const ACS_61 = (c: string, p: string, list: string) => [
  `pci ${c}: ACS redirect is set between the client and provider (${p})`,
  `pci ${c}: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=${list}`,
];
const V3_NOT_BEHIND = (p: string) => `nvme ${p}: not behind a PCI bridge`;

const NIC = '0000:03:00.0';
const SSD = '0000:04:00.0';

const rows: Row[] = [
  ['two devices behind one switch', () => oneSwitch(), SSD, NIC, {
    v3: bus(1), 'linux-4.20': bus(4), 'linux-6.1': bus(4),
  }],
  ['the provider is the client', () => oneSwitch(), SSD, SSD, {
    v3: bus(0), 'linux-4.20': bus(0), 'linux-6.1': bus(0),
  }],
  ['ACS redirect (RR, CR) on the provider\'s downstream port', () => oneSwitch({ dsp1: { acs: ['SV', 'RR', 'CR', 'UF'] } }), SSD, NIC, {
    v3: bus(1), // the series cleared ACS P2P bits behind switches at boot
    'linux-4.20': refused('acs-redirect', ACS_420(NIC, SSD, '0000:02:01.0')),
    'linux-6.1': refused('acs-redirect', [...ACS_61(NIC, SSD, '0000:02:01.0'), NOT_SHARE_61(NIC, SSD)],
      ['pcieport 0000:00:01.0: Host bridge not in P2PDMA whitelist: 1b36:000c']),
  }],
  ['ACS redirect on both downstream ports: listed provider side first, then client side', () => oneSwitch({ dsp0: { acs: ['EC'] }, dsp1: { acs: ['RR'] } }), SSD, NIC, {
    v3: bus(1),
    'linux-4.20': refused('acs-redirect', ACS_420(NIC, SSD, '0000:02:01.0;0000:02:00.0')),
    'linux-6.1': refused('acs-redirect', [...ACS_61(NIC, SSD, '0000:02:01.0;0000:02:00.0'), NOT_SHARE_61(NIC, SSD)],
      ['pcieport 0000:00:01.0: Host bridge not in P2PDMA whitelist: 1b36:000c']),
  }],
  ['ACS redirect on the common upstream port counts (the walk checks it)', () => oneSwitch({ usp: { acs: ['RR'] } }), SSD, NIC, {
    v3: bus(1),
    'linux-4.20': refused('acs-redirect', ACS_420(NIC, SSD, '0000:01:00.0')),
    'linux-6.1': refused('acs-redirect', [...ACS_61(NIC, SSD, '0000:01:00.0'), NOT_SHARE_61(NIC, SSD)],
      ['pcieport 0000:00:01.0: Host bridge not in P2PDMA whitelist: 1b36:000c']),
  }],
  ['ACS redirect above the common bridge is off the path', () => oneSwitch({ rp: { acs: ['RR', 'CR'] } }), SSD, NIC, {
    v3: bus(1), 'linux-4.20': bus(4), 'linux-6.1': bus(4),
  }],
  ['ACS SV/UF alone do not redirect', () => oneSwitch({ dsp1: { acs: ['SV', 'UF'] } }), SSD, NIC, {
    v3: bus(1), 'linux-4.20': bus(4), 'linux-6.1': bus(4),
  }],
  ['ACS control bits without the ACS capability are ignored', () => oneSwitch({ dsp1: { acs: ['RR', 'CR'], acsCap: false } }), SSD, NIC, {
    v3: bus(1), 'linux-4.20': bus(4), 'linux-6.1': bus(4),
  }],
  ['IOMMU on: pci_std_enable_acs sets RR/CR where the capability has them', () => oneSwitch({ dsp1: { acsCap: ['SV', 'RR', 'CR', 'UF'] }, top: { boot: { iommu: true } } }), SSD, NIC, {
    v3: bus(1),
    'linux-4.20': refused('acs-redirect', ACS_420(NIC, SSD, '0000:02:01.0')),
    'linux-6.1': refused('acs-redirect', [...ACS_61(NIC, SSD, '0000:02:01.0'), NOT_SHARE_61(NIC, SSD)],
      ['pcieport 0000:00:01.0: Host bridge not in P2PDMA whitelist: 1b36:000c']),
  }],
  ['IOMMU on without the capability: nothing to enable', () => oneSwitch({ top: { boot: { iommu: true } } }), SSD, NIC, {
    v3: bus(1), 'linux-4.20': bus(4), 'linux-6.1': bus(4),
  }],
  ['pci=disable_acs_redir= clears what the IOMMU set', () => oneSwitch({ dsp1: { acsCap: true }, top: { boot: { iommu: true, disableAcsRedir: '0000:02:01.0' } } }), SSD, NIC, {
    v3: bus(1), 'linux-4.20': bus(4), 'linux-6.1': bus(4),
  }],
  ['ACS redirect through the host bridge on an AMD Zen CPU', () => oneSwitch({ dsp1: { acs: ['RR'] }, top: AMD_ZEN3 }), SSD, NIC, {
    v3: bus(1),
    'linux-4.20': refused('acs-redirect', ACS_420(NIC, SSD, '0000:02:01.0')),
    'linux-6.1': thru(4, ACS_61(NIC, SSD, '0000:02:01.0')),
  }],
  ['ACS redirect through an allow-listed host bridge', () => oneSwitch({ dsp1: { acs: ['RR'] }, top: { rootComplex: SKX } }), SSD, NIC, {
    v3: bus(1),
    'linux-4.20': refused('acs-redirect', ACS_420(NIC, SSD, '0000:02:01.0')),
    'linux-6.1': thru(4, ACS_61(NIC, SSD, '0000:02:01.0')),
  }],
  ['two functions of one device under a root port', multiFunction, '0000:01:00.1', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:01:00.1')]),
    'linux-4.20': bus(2), 'linux-6.1': bus(2),
  }],
  ['different root ports, nothing allows the host bridge', () => twoRootPorts(), '0000:02:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:02:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:02:00.0')]),
    // no ACS involved: host_bridge_whitelist(…, warn = false) prints nothing
    'linux-6.1': refused('host-bridge-not-whitelisted', [NOT_SHARE_61('0000:01:00.0', '0000:02:00.0')]),
  }],
  ['different root ports, AMD family 0x19: cpu_supports_p2pdma', () => twoRootPorts({}, AMD_ZEN3), '0000:02:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:02:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:02:00.0')]),
    'linux-6.1': thru(4), // dist_a + dist_b = 2 + 2, no penalty
  }],
  ['different root ports, AMD family 0x16 (pre-Zen)', () => twoRootPorts({}, { cpu: { vendor: 'amd', family: 0x16 } }), '0000:02:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:02:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:02:00.0')]),
    'linux-6.1': refused('host-bridge-not-whitelisted', [NOT_SHARE_61('0000:01:00.0', '0000:02:00.0')]),
  }],
  ['different root ports, Hygon family 0x18 is not X86_VENDOR_AMD', () => twoRootPorts({}, { cpu: { vendor: 'HygonGenuine', family: 0x18 } }), '0000:02:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:02:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:02:00.0')]),
    'linux-6.1': refused('host-bridge-not-whitelisted', [NOT_SHARE_61('0000:01:00.0', '0000:02:00.0')]),
  }],
  ['different root ports under an allow-listed host bridge function (8086:2020 at 00.0)', () => twoRootPorts(SKX), '0000:02:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:02:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:02:00.0')]),
    'linux-6.1': thru(4),
  }],
  ['REQ_SAME_HOST_BRIDGE entry (8086:3c00) within its own host bridge', () => twoRootPorts({ vendor: '0x8086', device: '0x3c00' }), '0000:02:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:02:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:02:00.0')]),
    'linux-6.1': thru(4),
  }],
  ['no 00.0 function: the first root port\'s IDs are looked up (Skylake 8086:2030)', () => twoRootPorts({}, {}, { vendor: '0x8086', device: '0x2030' }), '0000:02:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:02:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:02:00.0')]),
    'linux-6.1': thru(4),
  }],
  ['root-complex integrated endpoints (no root port above them)', () => rciep(), '0000:00:03.0', '0000:00:04.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:00:03.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:00:04.0', '0000:00:03.0')]),
    'linux-6.1': refused('host-bridge-not-whitelisted', [NOT_SHARE_61('0000:00:04.0', '0000:00:03.0')]),
  }],
  ['RCiEPs under an allow-listed host bridge: distance 1 + 1', () => rciep(SKX), '0000:00:03.0', '0000:00:04.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:00:03.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:00:04.0', '0000:00:03.0')]),
    'linux-6.1': thru(2),
  }],
  ['an RCiEP provider serving itself', () => rciep(), '0000:00:03.0', '0000:00:03.0', {
    v3: bus(0), // pair check (upstream_bridges_match) returns 0 first; the list check refuses (see below)
    'linux-4.20': bus(0), 'linux-6.1': bus(0),
  }],
  ['two host bridges, both on the allow list (8086:2030 at each 00.0)', () => twoHostBridges({ vendor: '0x8086', device: '0x2030' }, { vendor: '0x8086', device: '0x2030' }), '0000:81:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:81:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:81:00.0')]),
    'linux-6.1': thru(4),
  }],
  ['two host bridges with a REQ_SAME_HOST_BRIDGE entry (8086:2f00)', () => twoHostBridges({ vendor: '0x8086', device: '0x2f00' }, { vendor: '0x8086', device: '0x2f00' }), '0000:81:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:81:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:81:00.0')]),
    'linux-6.1': refused('host-bridge-not-whitelisted', [NOT_SHARE_61('0000:01:00.0', '0000:81:00.0')]),
  }],
  ['two host bridges, only the client\'s on the list', () => twoHostBridges({ vendor: '0x8086', device: '0x2030' }, { vendor: '0x8086', device: '0x29c0' }), '0000:81:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:81:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:81:00.0')]),
    'linux-6.1': refused('host-bridge-not-whitelisted', [NOT_SHARE_61('0000:01:00.0', '0000:81:00.0')]),
  }],
  ['two host bridges (second socket) on an AMD Zen CPU', () => twoHostBridges({}, {}, AMD_ZEN3), '0000:81:00.0', '0000:01:00.0', {
    v3: refused('not-behind-switch', [], [V3_NOT_BEHIND('0000:81:00.0')]),
    'linux-4.20': refused('no-common-upstream-bridge', [NOT_SHARE_420('0000:01:00.0', '0000:81:00.0')]),
    'linux-6.1': thru(4),
  }],
];

describe.each(['v3', 'linux-4.20', 'linux-6.1'] as const)('%s: one rule per topology', (policy) => {
  it.each(rows)('%s', (_rule, topo, provider, client, byPolicy) => {
    const t = topo();
    const want = byPolicy[policy];
    const v = pairDistance(policy, t, t.get(provider)!, t.get(client)!);
    expect({ distance: v.distance, mapType: v.mapType, refusal: v.refusal ?? undefined }).toEqual({
      distance: want.distance, mapType: want.mapType, refusal: want.refusal,
    });
    expect(v.viaRootComplex).toBe(want.mapType === 'thru-host-bridge');
    expect(v.log.filter((l) => l.verboseOnly).map((l) => l.text)).toEqual(want.verbose ?? []);
    expect(v.log.filter((l) => !l.verboseOnly).map((l) => l.text)).toEqual(want.quiet ?? []);
    expect(v.rule).toMatch(policy === 'v3' ? /^v3 / : new RegExp(`^${policy} `));
  });
});

describe('pci_p2pdma_distance_many: the list, its sum, and −1 for every refusal', () => {
  const t = () => oneSwitch({ dsp1: { acs: ['RR'] } });

  it('linux-4.20: the ACS refusal is −1 (upstream_bridge_distance\'s −2 never escapes)', () => {
    const topo = t();
    const v = listDistance('linux-4.20', topo, topo.get(SSD)!, [topo.get(NIC)!, topo.get(SSD)!]);
    expect(v).toMatchObject({ distance: -1, refusal: 'acs-redirect' });
    expect(v.log).toEqual([]); // quiet: pci_p2pmem_find prints nothing
    const loud = listDistance('linux-4.20', topo, topo.get(SSD)!, [topo.get(NIC)!, topo.get(SSD)!], { verbose: true });
    expect(loud.log.map((l) => l.text)).toEqual(ACS_420(NIC, SSD, '0000:02:01.0'));
  });

  it('a verbose check goes on after the first refusal and prints every client\'s reason; a quiet one stops', () => {
    const topo = twoRootPorts();
    const extra = parsed({
      rootPorts: [
        { bdf: '0000:00:01.0', link: g3(16), children: ['0000:01:00.0'] },
        { bdf: '0000:00:02.0', link: g3(4), children: ['0000:02:00.0'] },
        { bdf: '0000:00:03.0', link: g3(4), children: ['0000:03:00.0'] },
      ],
      endpoints: [rnic('0000:01:00.0'), nvme('0000:02:00.0'), rnic('0000:03:00.0')],
    });
    const p = extra.get('02:00.0')!;
    const clients = [extra.get('01:00.0')!, extra.get('03:00.0')!];
    expect(listDistance('linux-6.1', extra, p, clients, { verbose: true }).log.map((l) => l.text)).toEqual([
      NOT_SHARE_61('0000:01:00.0', '0000:02:00.0'), NOT_SHARE_61('0000:03:00.0', '0000:02:00.0'),
    ]);
    expect(listDistance('linux-6.1', extra, p, clients).log).toEqual([]);
    expect(topo.hostBridge.hostBridgeDev?.bdf).toBe('0000:00:01.0');
  });

  it('the whitelist warning is printed by quiet checks too, and only on the ACS path', () => {
    const topo = t();
    const v = listDistance('linux-6.1', topo, topo.get(SSD)!, [topo.get(NIC)!]);
    expect(v.distance).toBe(-1);
    expect(v.log.map((l) => l.text)).toEqual(['pcieport 0000:00:01.0: Host bridge not in P2PDMA whitelist: 1b36:000c']);
  });

  it('an empty list: −1 for 4.20 and 6.1 (num_clients == 0); v3 sums nothing to 0', () => {
    const topo = oneSwitch();
    expect(listDistance('linux-4.20', topo, topo.get(SSD)!, []).distance).toBe(-1);
    expect(listDistance('linux-6.1', topo, topo.get(SSD)!, []).distance).toBe(-1);
    expect(listDistance('v3', topo, topo.get(SSD)!, []).distance).toBe(0);
  });

  it('v3 refuses a provider not behind a switch even as its own client (v3 returned 0: a bug, see DIGEST)', () => {
    const topo = rciep();
    const f = topo.get('00:03.0')!;
    const v = listDistance('v3', topo, f, [f]);
    expect(v).toMatchObject({ distance: -1, refusal: 'not-behind-switch' });
    expect(v.log.map((l) => l.text)).toEqual([V3_NOT_BEHIND('0000:00:03.0')]);
  });

  it('sums hop distances over clients, through the host bridge or not', () => {
    const topo = twoRootPorts(SKX);
    const p = topo.get('02:00.0')!;
    expect(listDistance('linux-6.1', topo, p, [topo.get('01:00.0')!, p])).toMatchObject({ distance: 4, refusal: null });
  });

  it('the ACS list is cut where the kernel\'s 128-byte seq_buf overflows (6.1) but not in 4.20\'s page', () => {
    // A chain of 10 switches, each downstream port with ACS RR: 10 × "0000:bb:00.0;" = 130 bytes.
    const switches: Json[] = [];
    const rootPorts = [{ bdf: '0000:00:01.0', link: g3(16), children: ['s0'] }];
    for (let i = 0; i < 10; i++) {
      const up = (1 + 2 * i).toString(16).padStart(2, '0');
      const down = (2 + 2 * i).toString(16).padStart(2, '0');
      const next = i < 9 ? [`s${i + 1}`] : ['0000:15:00.0'];
      const dsps = [{ bdf: `0000:${down}:00.0`, link: g3(16), acs: ['RR'], children: next }];
      if (i === 0) dsps.push({ bdf: `0000:${down}:01.0`, link: g3(16), acs: [] as unknown as string[], children: ['0000:16:00.0'] });
      switches.push({ name: `s${i}`, upstream: { bdf: `0000:${up}:00.0`, link: g3(16) }, downstream: dsps });
    }
    const topo = parsed({ rootPorts, switches, endpoints: [nvme('0000:15:00.0'), rnic('0000:16:00.0')] });
    const provider = topo.get('15:00.0')!;
    const client = topo.get('16:00.0')!;
    const names = ['14', '12', '10', '0e', '0c', '0a', '08', '06', '04', '02'].map((b) => `0000:${b}:00.0`);
    const full = names.join(';');
    const v420 = pairDistance('linux-4.20', topo, provider, client);
    expect(v420.log[1]!.text).toBe(`pci 0000:16:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=${full}`);
    const v61 = pairDistance('linux-6.1', topo, provider, client);
    expect(v61.log[1]!.text).toBe(`pci 0000:16:00.0: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=${(full + ';').slice(0, 127)}`);
  });
});

describe('pci_p2pmem_find: the tie set each policy picks from', () => {
  const ties = (topo: PciTopology, policy: P2pPolicy, clients: string[]) => {
    const p = new P2pdma(topo, { policy });
    const list = p.createClientList();
    for (const c of clients) unwrap(p.addClient(list, c));
    const e = p.explainFind(list);
    return { distance: e.closestDistance, ties: e.ties };
  };
  /** One switch: NIC 03:00.0 and three providers (CMBs 04:00.0, 05:00.0; p2pmem card 06:00.0), the card under its own ACS port. */
  const fabric = (top: Json = {}, cardAcs: string[] = []) => parsed({
    ...top,
    rootPorts: [{ bdf: '0000:00:01.0', link: g3(16), children: ['sw0'] }],
    switches: [{
      name: 'sw0', upstream: { bdf: '0000:01:00.0', link: g3(16) },
      downstream: [
        { bdf: '0000:02:00.0', link: g3(8), children: ['0000:03:00.0'] },
        { bdf: '0000:02:01.0', link: g3(4), children: ['0000:04:00.0'] },
        { bdf: '0000:02:02.0', link: g3(4), children: ['0000:05:00.0'] },
        { bdf: '0000:02:03.0', link: g3(8), acs: cardAcs, children: ['0000:06:00.0'] },
      ],
    }],
    endpoints: [rnic('0000:03:00.0'), nvme('0000:04:00.0'), nvme('0000:05:00.0'),
      { bdf: '0000:06:00.0', kind: 'p2pmem', link: g3(8), bars: [{ index: 0, size: '1M' }] }],
  });

  it.each([
    ['v3', ['03:00.0'], 1, ['0000:04:00.0', '0000:05:00.0', '0000:06:00.0']],
    ['linux-4.20', ['03:00.0'], 4, ['0000:04:00.0', '0000:05:00.0', '0000:06:00.0']],
    ['linux-6.1', ['03:00.0'], 4, ['0000:04:00.0', '0000:05:00.0', '0000:06:00.0']],
    ['v3', ['03:00.0', '04:00.0'], 1, ['0000:04:00.0']],
    ['linux-4.20', ['03:00.0', '04:00.0'], 4, ['0000:04:00.0']],
    ['linux-6.1', ['03:00.0', '04:00.0'], 4, ['0000:04:00.0']],
  ] as const)('%s, clients %j: distance %d among %j', (policy, clients, distance, set) => {
    expect(ties(fabric(), policy, [...clients])).toEqual({ distance, ties: set });
  });

  it('ACS on the card\'s port: v3 keeps it, 4.20 drops it, 6.1 keeps it only where the host bridge path is allowed', () => {
    expect(ties(fabric({}, ['RR']), 'v3', ['03:00.0']).ties).toEqual(['0000:04:00.0', '0000:05:00.0', '0000:06:00.0']);
    expect(ties(fabric({}, ['RR']), 'linux-4.20', ['03:00.0']).ties).toEqual(['0000:04:00.0', '0000:05:00.0']);
    expect(ties(fabric({}, ['RR']), 'linux-6.1', ['03:00.0']).ties).toEqual(['0000:04:00.0', '0000:05:00.0']);
    // through the host bridge the distance is the same hop count: the card ties with the CMBs
    expect(ties(fabric(AMD_ZEN3, ['RR']), 'linux-6.1', ['03:00.0'])).toEqual({ distance: 4, ties: ['0000:04:00.0', '0000:05:00.0', '0000:06:00.0'] });
  });

  it('find prints the 6.1 whitelist warning for the ACS-redirected provider while picking the others', () => {
    const p = new P2pdma(fabric({}, ['RR']), { policy: 'linux-6.1' });
    const list = p.createClientList();
    unwrap(p.addClient(list, '03:00.0'));
    expect(p.explainFind(list).log.map((l) => l.text)).toEqual(['pcieport 0000:00:01.0: Host bridge not in P2PDMA whitelist: 1b36:000c']);
  });

  it('root ports under an allow-listed host bridge: every provider ties in 6.1, none qualifies in v3 or 4.20', () => {
    const topo = () => parsed({
      rootComplex: SKX,
      rootPorts: ['01', '02', '03'].map((b, i) => ({ bdf: `0000:00:0${i + 1}.0`, link: g3(8), children: [`0000:${b}:00.0`] })),
      endpoints: [rnic('0000:01:00.0'), nvme('0000:02:00.0'), nvme('0000:03:00.0')],
    });
    expect(ties(topo(), 'v3', ['01:00.0']).ties).toEqual([]);
    expect(ties(topo(), 'linux-4.20', ['01:00.0']).ties).toEqual([]);
    expect(ties(topo(), 'linux-6.1', ['01:00.0'])).toEqual({ distance: 4, ties: ['0000:02:00.0', '0000:03:00.0'] });
  });
});

describe('policy names', () => {
  it('aliases denote exactly one policy; the default is v3', () => {
    const topo = oneSwitch();
    expect(new P2pdma(topo).policy).toBe('v3');
    expect(new P2pdma(topo, { policy: 'same-switch' }).policy).toBe('v3');
    expect(new P2pdma(topo, { policy: 'upstream-bridge' }).policy).toBe('linux-4.20');
  });
});

describe('rendering what the policies look at', () => {
  it('draws root-bus devices and one branch per host bridge', () => {
    const t = twoHostBridges({ vendor: '0x8086', device: '0x2030' }, {});
    expect(renderTree(t, { verbose: false })).toBe([
      '-+-[0000:00]-+-00.0',
      ' |           \\-01.0-[01]----00.0',
      ' \\-[0000:80]---01.0-[81]----00.0',
      '',
    ].join('\n'));
    expect(renderTree(rciep())).toBe([
      '-[0000:00]-+-00.0  Host bridge [8086:29c0]',
      '           +-03.0  NVMe SSD [144d:a808] CMB 1M WDS RDS',
      '           \\-04.0  RDMA NIC [15b3:1017]',
      '',
    ].join('\n'));
  });

  it('shows ACS capability and control apart, and control without a capability as ignored', () => {
    const t = oneSwitch({ dsp0: { acs: ['RR'], acsCap: false }, dsp1: { acsCap: ['SV', 'RR', 'CR', 'UF'] }, top: { boot: { iommu: true } } });
    expect(renderAcs(t)).toEqual([
      '0000:02:00.0 switch-downstream: no ACS capability (control RR declared, never read by the kernel)',
      '0000:02:01.0 switch-downstream: ACSCap SV,RR,CR,UF  ACSCtl SV,RR,CR,UF (firmware -)  (P2P redirect)',
    ]);
    expect(t.get('02:01.0')!.acsFlags).toEqual(['SV', 'RR', 'CR', 'UF']);
    expect(t.get('02:00.0')!.acsRedirect).toBe(false);
  });

  it('logs what pci=disable_acs_redir= did at boot', () => {
    const t = oneSwitch({ dsp1: { acs: ['RR', 'CR'] }, top: { boot: { disableAcsRedir: '0000:02:01.0;pci:1b36:000c' } } });
    expect(t.bootLog.map((l) => l.text)).toEqual([
      'pci 0000:00:01.0: cannot disable ACS redirect for this hardware as it does not have ACS capabilities',
      'pci 0000:02:01.0: disabled ACS redirect',
    ]);
    expect(t.get('02:01.0')!.acsRedirect).toBe(false);
    // the path form: bus 00 device 01.0, then 00.0 below it, then 01.0 below that
    const u = oneSwitch({ dsp1: { acs: ['RR'] }, top: { boot: { disableAcsRedir: '00:01.0/00.0/01.0' } } });
    expect(u.get('02:01.0')!.acsRedirect).toBe(false);
    expect(u.bootLog.map((l) => l.text)).toEqual(['pci 0000:02:01.0: disabled ACS redirect']);
  });
});

describe('config/topologies/qemu-q35-pxb.json: an RCiEP, two root ports and a pxb-pcie root bus', () => {
  const load = (cpuFamily?: number) => {
    const j = JSON.parse(readFileSync(builtinTopologyPath('qemu-q35-pxb'), 'utf8'));
    if (cpuFamily !== undefined) j.cpu.family = cpuFamily;
    return parsed(j);
  };
  const find = (t: PciTopology, policy: P2pPolicy) => {
    const p = new P2pdma(t, { policy });
    const list = p.createClientList();
    unwrap(p.addClient(list, '01:00.0'));
    const e = p.explainFind(list);
    return [e.closestDistance, e.ties];
  };

  it('qemu64 (AMD family 0xf) is older than Zen: linux-6.1 refuses every path through a host bridge', () => {
    const t = load();
    expect(t.hostBridges.map((h) => h.name)).toEqual(['pci0000:00', 'pci0000:80']);
    expect(pairDistance('linux-6.1', t, t.get('00:04.0')!, t.get('01:00.0')!)).toMatchObject({ distance: -1, refusal: 'host-bridge-not-whitelisted' });
    expect(find(t, 'v3')).toEqual([null, []]);
    expect(find(t, 'linux-4.20')).toEqual([null, []]);
    expect(find(t, 'linux-6.1')).toEqual([null, []]);
  });

  it('on a Zen CPU the RCiEP is closest (1 + 2 hops), then the SSDs on either root bus (2 + 2)', () => {
    const t = load(0x17);
    expect(pairDistance('linux-6.1', t, t.get('00:04.0')!, t.get('01:00.0')!)).toMatchObject({ distance: 3, mapType: 'thru-host-bridge' });
    expect(pairDistance('linux-6.1', t, t.get('81:00.0')!, t.get('01:00.0')!)).toMatchObject({ distance: 4, mapType: 'thru-host-bridge' });
    expect(find(t, 'linux-6.1')).toEqual([3, ['0000:00:04.0']]);
    expect(renderTree(t, { verbose: false })).toBe([
      '-+-[0000:00]-+-00.0',
      ' |           +-02.0-[01]----00.0',
      ' |           +-03.0-[02]----00.0',
      ' |           \\-04.0',
      ' \\-[0000:80]---00.0-[81]----00.0',
      '',
    ].join('\n'));
  });
});
