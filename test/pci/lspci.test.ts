import { describe, expect, it } from 'vitest';
import { parseTopology, renderTree } from '../../src/pci/index.js';
import { smallJbof, topo } from './helpers.js';

describe('lspci -tv style rendering', () => {
  it('draws the JBOF', () => {
    expect(renderTree(topo('default'))).toBe(
      [
        '-[0000:00]---01.0-[01-06]----00.0-[02-06]--+-00.0-[03]----00.0  Mellanox ConnectX-7 [15b3:1021]',
        '                                           +-01.0-[04]----00.0  NVMe SSD with CMB [144d:a808] CMB 256M WDS RDS',
        '                                           +-02.0-[05]----00.0  NVMe SSD with CMB [144d:a808] CMB 256M WDS RDS',
        '                                           \\-03.0-[06]----00.0  p2pmem card [1de5:1000] p2pmem 1G',
        '',
      ].join('\n'),
    );
  });

  it('keeps "|" under open branches and shows multi-function devices and link widths', () => {
    expect(renderTree(topo('different-switches'), { links: true })).toBe(
      [
        '-[0000:00]-+-01.0-[01-04]----00.0-[02-04]--+-00.0-[03]----00.0  RDMA NIC [15b3:1017] Gen3 x16',
        '           |                               \\-01.0-[04]----00.0  NVMe SSD [144d:a808] CMB 256M WDS RDS Gen3 x4',
        '           \\-02.0-[05-08]----00.0-[06-08]--+-00.0-[07]----00.0  NVMe SSD [144d:a808] CMB 256M WDS RDS Gen3 x4',
        '                                           \\-01.0-[08]----00.0  p2pmem card [1de5:1000] p2pmem 1G Gen3 x8',
        '',
      ].join('\n'),
    );
    const rp = renderTree(topo('root-ports'), { verbose: false });
    expect(rp).toBe(
      [
        '-[0000:00]-+-00.0',
        '           +-01.0-[01]----00.0',
        '           +-02.0-[02]----00.0',
        '           +-03.0-[03]----00.0',
        '           +-04.0-[04]----00.0',
        '           \\-05.0-[05]--+-00.0',
        '                        \\-00.1',
        '',
      ].join('\n'),
    );
  });

  it('draws empty ports and flags', () => {
    const j = smallJbof();
    j.switches[0].downstream.push({ bdf: '0000:02:03.0', link: { gen: 3, width: 4 }, acs: ['RR'], children: [] });
    j.endpoints[0].virtDmaOps = true;
    const r = parseTopology(j);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const out = renderTree(r.topology);
    expect(out).toContain('\\-03.0-[06]--\n');
    expect(out).toContain('RDMA NIC [15b3:1017] (dma_virt_ops)');
  });
});
