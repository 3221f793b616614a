import { describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTopology, parseTopologyFile, parseTopologyOrThrow, TopologyError } from '../../src/pci/index.js';
import { errorsOf, smallJbof } from './helpers.js';

type Mutate = (j: Record<string, any>) => void;

const cases: [string, Mutate, string, RegExp][] = [
  ['duplicate BDF', (j) => { j.endpoints[2].bdf = '0000:04:00.0'; }, 'topology.endpoints[2].bdf', /duplicate BDF 0000:04:00.0 \(also at topology.endpoints\[1\].bdf\)/],
  ['duplicate BDF across a port and an endpoint', (j) => { j.endpoints[0].bdf = '0000:02:00.0'; }, 'topology.endpoints[0].bdf', /duplicate BDF 0000:02:00.0 \(also at topology.switches\[0\].downstream\[0\].bdf\)/],
  ['downstream port with two children', (j) => {
    j.switches[0].downstream[2].children = ['0000:05:00.0', '0000:06:00.0'];
    j.endpoints.push({ bdf: '0000:06:00.0', kind: 'other' });
  }, 'topology.switches[0].downstream[2].children', /exactly one device; found 0000:05:00 and 0000:06:00/],
  ['BAR overlap', (j) => {
    j.endpoints[0].bars[0].cpuAddr = '0x80000000';
    j.endpoints[2].bars[0].cpuAddr = '0x81000000';
  }, 'topology.endpoints[2].bars[0]', /overlaps topology.endpoints\[0\].bars\[0\]/],
  ['unknown child', (j) => { j.switches[0].downstream[0].children = ['0000:09:00.0']; }, 'topology.switches[0].downstream[0].children[0]', /unknown child "0000:09:00.0"/],
  ['child listed by two ports', (j) => { j.switches[0].downstream[0].children = ['0000:04:00.0']; }, 'topology.switches[0].downstream[1].children[0]', /already has a parent port \(listed at topology.switches\[0\].downstream\[0\].children\[0\]\)/],
  ['endpoint not connected', (j) => { j.endpoints.push({ bdf: '0000:09:00.0', kind: 'rnic' }); }, 'topology.endpoints[3]', /not connected/],
  ['switch cycle', (j) => {
    j.switches.push({ name: 'loop', upstream: { bdf: '0000:10:00.0', link: { gen: 3, width: 4 } }, downstream: [{ bdf: '0000:11:00.0', link: { gen: 3, width: 4 }, children: ['loop'] }] });
  }, 'topology.switches[1]', /not connected to a root port \(cycle\?\)/],
  ['invalid BDF', (j) => { j.endpoints[0].bdf = '03:00'; }, 'topology.endpoints[0].bdf', /invalid BDF/],
  ['unknown kind', (j) => { j.endpoints[0].kind = 'gpu'; }, 'topology.endpoints[0].kind', /unknown endpoint kind "gpu"/],
  ['CMB on a non-NVMe endpoint', (j) => { j.endpoints[0].cmb = { bar: 0 }; }, 'topology.endpoints[0].cmb', /only an nvme endpoint has a CMB/],
  ['CMB larger than its BAR', (j) => { j.endpoints[1].cmb.size = '2M'; }, 'topology.endpoints[1].cmb.size', /does not fit in BAR 2/],
  ['CMB in a missing BAR', (j) => { j.endpoints[1].cmb.bar = 4; }, 'topology.endpoints[1].cmb.bar', /has no BAR 4/],
  ['CMB in an I/O BAR', (j) => { j.endpoints[1].bars.push({ index: 4, size: 256, type: 'io' }); j.endpoints[1].cmb.bar = 4; }, 'topology.endpoints[1].cmb.bar', /I\/O BAR/],
  ['BAR size not a power of two', (j) => { j.endpoints[0].bars[0].size = 3000; }, 'topology.endpoints[0].bars[0].size', /power of two/],
  ['64-bit BAR register clash', (j) => { j.endpoints[1].bars[1].index = 1; }, 'topology.endpoints[1].bars[1].index', /BAR register 1 is already used by topology.endpoints\[1\].bars\[0\]/],
  ['misaligned BAR', (j) => { j.endpoints[0].bars[0].cpuAddr = '0x80001000'; }, 'topology.endpoints[0].bars[0].cpuAddr', /not aligned/],
  ['bus address inconsistent with the host bridge offset', (j) => {
    j.rootComplex = { busOffset: '0x1000000000' };
    j.endpoints[0].bars[0].cpuAddr = '0x1080000000';
    j.endpoints[0].bars[0].busAddr = '0x1080000000';
  }, 'topology.endpoints[0].bars[0].busAddr', /does not match CPU address 0x1080000000 with host bridge offset 0x1000000000 \(expected 0x80000000\)/],
  ['typo in a field name', (j) => { j.switches[0].downstream[0].childs = []; }, 'topology.switches[0].downstream[0].childs', /unknown field "childs"/],
  ['root port off the root bus', (j) => { j.rootPorts[0].bdf = '0000:01:01.0'; j.rootPorts[0].children = []; }, 'topology.rootPorts[0].bdf', /root bus 00/],
  ['children on a lower bus than their port', (j) => { j.switches[0].upstream.bdf = '0000:00:02.0'; j.rootPorts[0].children = ['sw0']; }, 'topology.rootPorts[0].children', /must be greater than the port's own bus 00/],
  ['device number below a PCIe port', (j) => {
    j.endpoints[0].bdf = '0000:03:01.0';
    j.switches[0].downstream[0].children = ['0000:03:01.0'];
  }, 'topology.switches[0].downstream[0].children[0]', /device number must be 0/],
  ['missing link attributes', (j) => { delete j.switches[0].downstream[0].link; }, 'topology.switches[0].downstream[0].link', /no link attributes/],
  ['bad link width', (j) => { j.endpoints[0].link = { gen: 3, width: 3 }; }, 'topology.endpoints[0].link.width', /x1\/x2\/x4/],
  ['multi-function device without function 0', (j) => {
    j.endpoints[0].bdf = '0000:03:00.1';
    j.endpoints.push({ bdf: '0000:03:00.2', kind: 'other' });
    j.switches[0].downstream[0].children = ['0000:03:00.1', '0000:03:00.2'];
  }, 'topology.endpoints[0].bdf', /multi-function device 0000:03:00 has no function 0/],
  ['switch without downstream ports', (j) => { j.switches[0].downstream = []; }, 'topology.switches[0].downstream', /at least one downstream port/],
  ['switch on a conventional PCI bus', (j) => {
    j.rootPorts[0].children = ['br'];
    j.bridges = [{ name: 'br', bdf: '0000:01:00.0', children: ['sw0'] }];
    j.switches[0].upstream.bdf = '0000:02:05.0';
    j.switches[0].downstream.forEach((d: any, i: number) => { d.bdf = `0000:0a:0${i}.0`; });
    j.endpoints.forEach((e: any, i: number) => { e.bdf = `0000:1${i}:00.0`; });
    j.switches[0].downstream.forEach((d: any, i: number) => { d.children = [`0000:1${i}:00.0`]; });
  }, 'topology.bridges[0].children[0]', /cannot sit on the conventional PCI bus/],
  ['two ports claiming one bus', (j) => {
    j.endpoints[1].bdf = '0000:03:00.1';
    j.switches[0].downstream[1].children = ['0000:03:00.1'];
  }, 'topology.switches[0].downstream[1].children', /bus 03 is already the secondary bus of 0000:02:00.0/],
  ['p2pmem card without a memory BAR', (j) => { j.endpoints[2].bars = []; }, 'topology.endpoints[2].bars', /needs a memory BAR/],
  ['no devices at all', (j) => { j.rootPorts = []; j.switches = []; j.endpoints = []; }, 'topology.rootPorts', /at least one root port or root-bus device/],
  ['bad ACS flag', (j) => { j.switches[0].downstream[0].acs = ['RR', 'XX']; }, 'topology.switches[0].downstream[0].acs[1]', /unknown ACS flag "XX"/],
  ['ACS control bit the capability lacks', (j) => { j.switches[0].downstream[1].acsCap = ['SV', 'UF']; j.switches[0].downstream[1].acs = ['SV', 'RR']; },
    'topology.switches[0].downstream[1].acs[1]', /RR is set but "acsCap" does not support it/],
  ['bad ACS capability flag', (j) => { j.switches[0].downstream[1].acsCap = ['QQ']; }, 'topology.switches[0].downstream[1].acsCap[0]', /unknown ACS flag "QQ"/],
  ['the old p2pBetweenRootPorts flag', (j) => { j.rootComplex = { p2pBetweenRootPorts: true }; }, 'topology.rootComplex.p2pBetweenRootPorts', /no longer supported: linux-6.1 allows P2P through the host bridge when the CPU is AMD family >= 0x17/],
  ['host bridge vendor without device', (j) => { j.rootComplex = { vendor: '0x8086' }; }, 'topology.rootComplex.device', /give both "vendor" and "device"/],
  ['rootComplex and hostBridges together', (j) => { j.rootComplex = {}; j.hostBridges = [{ bus: 0 }]; }, 'topology.hostBridges', /either "rootComplex" .* or "hostBridges"/],
  ['two host bridges on one root bus', (j) => { j.hostBridges = [{ bus: 0 }, { bus: 0 }]; }, 'topology.hostBridges[1].bus', /root bus 0000:00 is already declared at topology.hostBridges\[0\]/],
  ['a root port on no root bus', (j) => { j.hostBridges = [{ bus: 0 }, { bus: 0x80 }]; j.rootPorts[0].bdf = '0000:40:01.0'; }, 'topology.rootPorts[0].bdf', /sits on a root bus \(0000:00, 0000:80\), not bus 0000:40/],
  ['a switch on a root bus', (j) => { j.switches[0].upstream.bdf = '0000:00:05.0'; j.rootPorts[0].children = []; }, 'topology.switches[0].upstream.bdf', /cannot sit on root bus 00/],
  ['an endpoint in an unknown domain', (j) => { j.endpoints[0].bdf = '0001:03:00.0'; j.switches[0].downstream[0].children = ['0001:03:00.0']; }, 'topology.endpoints[0].bdf', /in PCI domain 0001 but no host bridge is/],
  ['CPU vendor', (j) => { j.cpu = { vendor: 'ARM Ltd', family: 1 }; }, 'topology.cpu.vendor', /expected a CPUID vendor/],
  ['CPU family missing', (j) => { j.cpu = { vendor: 'AuthenticAMD' }; }, 'topology.cpu.family', /compares it with 0x17/],
  ['CPU family not a number', (j) => { j.cpu = { vendor: 'amd', family: 'zen' }; }, 'topology.cpu.family', /x86 family as an integer/],
  ['unknown CPU field', (j) => { j.cpu = { vendor: 'amd', family: 25, model: 1 }; }, 'topology.cpu.model', /unknown field "model"/],
  ['disable_acs_redir syntax', (j) => { j.boot = { disableAcsRedir: '0000:02:01;x' }; }, 'topology.boot.disableAcsRedir', /cannot parse "0000:02:01;x"/],
  ['IOMMU not a boolean', (j) => { j.boot = { iommu: 'on' }; }, 'topology.boot.iommu', /expected true or false/],
];

describe('topology validation', () => {
  it('accepts the base fixture', () => {
    expect(parseTopology(smallJbof()).ok).toBe(true);
  });

  it.each(cases)('%s', (_name, mutate, path, message) => {
    const j = smallJbof();
    mutate(j);
    const errs = errorsOf(j);
    const hit = errs.find((e) => e.startsWith(`${path}: `) && message.test(e));
    expect(hit, `expected an error at ${path} matching ${message}; got:\n${errs.join('\n')}`).toBeDefined();
  });

  it('reports every problem, not just the first', () => {
    const j = smallJbof();
    j.endpoints[0].kind = 'gpu';
    j.endpoints[1].bars[0].size = 100;
    j.switches[0].downstream[2].children = ['nope'];
    expect(errorsOf(j).length).toBeGreaterThanOrEqual(3);
  });

  it('uses the path prefix it is given', () => {
    const j = smallJbof();
    j.endpoints[2].bdf = '0000:04:00.0';
    expect(errorsOf(j, 'config.topology').some((e) => e.startsWith('config.topology.endpoints[2].bdf: '))).toBe(true);
    expect(errorsOf(j, '').some((e) => e.startsWith('endpoints[2].bdf: '))).toBe(true);
  });

  it('rejects non-objects without throwing', () => {
    expect(errorsOf(42)[0]).toMatch(/^topology: expected an object/);
    expect(errorsOf({ rootPorts: 'x' })[0]).toMatch(/^topology.rootPorts: expected an array/);
    expect(errorsOf({ rootPorts: [{ bdf: 7 }] })[0]).toMatch(/^topology.rootPorts\[0\].bdf: expected a BDF string/);
  });

  it('parseTopologyOrThrow throws a TopologyError listing paths', () => {
    const j = smallJbof();
    j.endpoints[2].bdf = '0000:04:00.0';
    try {
      parseTopologyOrThrow(j);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TopologyError);
      expect((e as TopologyError).errors[0]!.path).toBe('topology.endpoints[2].bdf');
      expect((e as Error).message).toContain('topology.endpoints[2].bdf: duplicate BDF');
    }
  });

  it('reports JSON syntax errors against the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nvmet-ts-topo-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ "rootPorts": [ }');
    const r = parseTopologyFile(file);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ path: file, message: expect.stringMatching(/invalid JSON/) });
  });
});
