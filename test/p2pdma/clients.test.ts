import { describe, expect, it } from 'vitest';
import { unwrap, type GenericDevice, type P2pErrorCode, type Result } from '../../src/p2pdma/index.js';
import { dev, parsed, sys } from './helpers.js';
import { smallJbof } from '../pci/helpers.js';

function code<T>(r: Result<T>): P2pErrorCode | 'ok' {
  return r.ok ? 'ok' : r.error.code;
}

describe('addClient (pci_p2pdma_add_client)', () => {
  it('resolves the nearest PCI parent of a device (a namespace of an NVMe controller)', () => {
    const p = sys('default');
    const nvme = dev(p, '04:00.0');
    const ctrl: GenericDevice = { name: 'nvme0', parent: nvme };
    const ns: GenericDevice = { name: 'nvme0n1', parent: ctrl };
    const list = p.createClientList();
    expect(unwrap(p.addClient(list, ns))).toBe(nvme);
    expect(list.entries[0]).toMatchObject({ client: nvme, device: ns, provider: null });
    expect(unwrap(p.addClient(list, '0000:03:00.0')).bdf).toBe('0000:03:00.0');
    expect(list.clients.map((c) => c.bdf)).toEqual(['0000:04:00.0', '0000:03:00.0']);
  });

  it('ENODEV for a namespace backed by something that is not behind a PCI device', () => {
    const p = sys('default');
    const list = p.createClientList();
    const file: GenericDevice = { name: 'loop0', parent: { name: 'virtual', parent: null } };
    const r = p.addClient(list, file);
    expect(code(r)).toBe('ENODEV');
    if (!r.ok) expect(r.error.message).toMatch(/loop0 cannot be used for peer-to-peer DMA as it is not a PCI device/);
    expect(code(p.addClient(list, { name: 'ramdisk' }))).toBe('ENODEV');
    expect(code(p.addClient(list, '0000:42:00.0'))).toBe('ENODEV');
    // a PCI function of another fabric is not ours
    expect(code(p.addClient(list, sys('default').topology.get('04:00.0')!))).toBe('ENODEV');
    expect(list.length).toBe(0);
  });

  it('ENODEV for devices whose driver uses dma_virt_ops', () => {
    const j = smallJbof();
    j.endpoints[0].virtDmaOps = true; // the RNIC
    const p = sys(parsed(j));
    const list = p.createClientList();
    const r = p.addClient(list, '03:00.0');
    expect(code(r)).toBe('ENODEV');
    if (!r.ok) expect(r.error.message).toMatch(/dma_virt_ops/);
    // and an RDMA device on top of it
    expect(code(p.addClient(list, { name: 'mlx5_0', parent: dev(p, '03:00.0') }))).toBe('ENODEV');
    // a software RDMA device (rxe) flagged itself, even on a normal NIC
    const q = sys('default');
    expect(code(q.addClient(q.createClientList(), { name: 'rxe0', parent: dev(q, '03:00.0'), virtDmaOps: true }))).toBe('ENODEV');
  });

  it('EXDEV when the list is bound to a provider the new client cannot reach', () => {
    const p = sys('different-switches');
    const list = p.createClientList();
    unwrap(p.addClient(list, '03:00.0'));
    expect(p.find(list)?.bdf).toBe('0000:04:00.0');
    expect(list.provider?.bdf).toBe('0000:04:00.0');
    const r = p.addClient(list, '07:00.0');
    expect(code(r)).toBe('EXDEV');
    if (!r.ok) {
      expect(r.error.errno).toBe(-18);
      expect(r.error.message).toContain('different switch: 0000:01:00.0 vs 0000:05:00.0');
    }
    expect(list.length).toBe(1);
    // a compatible client joins and inherits the binding
    unwrap(p.addClient(list, '04:00.0'));
    expect(list.entries.map((e) => e.provider?.bdf)).toEqual(['0000:04:00.0', '0000:04:00.0']);
  });

  it('removeClient removes every entry for the device; freeClientList empties the list', () => {
    const p = sys('default');
    const list = p.createClientList();
    unwrap(p.addClient(list, '03:00.0'));
    unwrap(p.addClient(list, '04:00.0'));
    unwrap(p.addClient(list, { name: 'nvme0n1', parent: dev(p, '03:00.0') }));
    unwrap(p.addClient(list, '03:00.0'));
    expect(p.removeClient(list, { name: 'ib', parent: dev(p, '03:00.0') })).toBe(3);
    expect(list.clients.map((c) => c.bdf)).toEqual(['0000:04:00.0']);
    expect(p.removeClient(list, { name: 'nothing' })).toBe(0);
    p.freeClientList(list);
    expect(list.length).toBe(0);
  });

  it('assignProvider binds only a compatible provider', () => {
    const p = sys('different-switches');
    const list = p.createClientList();
    unwrap(p.addClient(list, '03:00.0'));
    expect(p.assignProvider('08:00.0', list)).toBe(false);
    expect(list.provider).toBeNull();
    expect(p.assignProvider('04:00.0', list)).toBe(true);
    expect(list.provider?.bdf).toBe('0000:04:00.0');
  });
});

describe('P2pdma.route', () => {
  it('routes between devices behind namespaces, honouring ACS unless the policy is same-switch', () => {
    const strict = sys('acs-redirect', { policy: 'upstream-bridge' });
    const r = unwrap(strict.route('03:00.0', { name: 'nvme1n1', parent: dev(strict, '04:00.0') }));
    expect(r.viaRootComplex).toBe(true);
    expect(r.acsRedirect).toEqual(['0000:02:01.0']);
    const v3 = sys('acs-redirect');
    const s = unwrap(v3.route('03:00.0', '04:00.0'));
    expect(s.viaRootComplex).toBe(false);
    expect(s.hops.map((h) => h.link.id)).toEqual(['0000:02:00.0<->0000:03:00.0', '0000:02:01.0<->0000:04:00.0']);
    expect(unwrap(v3.route('04:00.0', 'dram')).hops.at(-1)?.link.id).toBe('pci0000:00<->dram');
    expect(code(v3.route({ name: 'loop0' }, 'dram'))).toBe('ENODEV');
  });
});
