/**
 * A text rendering of the fabric in the style of `lspci -tv`:
 *
 *   -[0000:00]-+-01.0-[01-06]----00.0-[02-06]--+-00.0-[03]----00.0  RDMA NIC [15b3:1017]
 *              |                               +-01.0-[04]----00.0  NVMe SSD [144d:a808] CMB 256M WDS RDS
 *
 * Same drawing rules as pciutils' tree mode: a bridge prints its bus range and then its
 * secondary bus; a bus with one device continues with "--", several devices branch with
 * "+-" / "\-"; continuation lines keep "|" under every open branch.
 */

import { formatSize } from './units.js';
import { acsNames } from './acs.js';
import type { PciFunction } from './model.js';
import type { PciTopology } from './topology.js';

export interface RenderOptions {
  /** Print device names (like -v). Default true. */
  readonly verbose?: boolean;
  /** Append the negotiated link of each endpoint ("Gen3 x4"). Default false. */
  readonly links?: boolean;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

export function describeFunction(f: PciFunction, opts: RenderOptions = {}): string {
  let s = `${f.label} [${hex4(f.vendorId)}:${hex4(f.deviceId)}]`;
  if (f.kind === 'nvme' && f.cmb) {
    const bits = [f.cmb.wds && 'WDS', f.cmb.rds && 'RDS', f.cmb.sqs && 'SQS'].filter(Boolean).join(' ');
    s += ` CMB ${formatSize(f.cmb.size)}${bits ? ' ' + bits : ''}`;
  }
  if (f.kind === 'p2pmem' && f.p2pmem) {
    const bar = f.bar(f.p2pmem.bar);
    const size = f.p2pmem.size || (bar ? bar.size - f.p2pmem.offset : 0);
    s += ` p2pmem ${formatSize(size)}`;
  }
  if (f.virtDmaOps) s += ' (dma_virt_ops)';
  s += describeAcs(f);
  if (opts.links && f.link && f.link.gen !== null) s += ` Gen${f.link.gen} x${f.link.width}`;
  return s;
}

export function renderTree(topo: PciTopology, opts: RenderOptions = {}): string {
  const verbose = opts.verbose ?? true;
  const out: string[] = [];
  const line: string[] = [];

  const put = (p: number, s: string): number => {
    for (let i = 0; i < s.length; i++) line[p + i] = s[i]!;
    return p + s.length;
  };
  const printIt = (p: number): void => {
    line.length = p;
    out.push(line.join('').trimEnd());
    for (let i = 0; i < p; i++) line[i] = line[i] === '+' || line[i] === '|' ? '|' : ' ';
  };
  const showBus = (devs: readonly PciFunction[], p: number): void => {
    if (devs.length === 0) {
      printIt(p);
    } else if (devs.length === 1) {
      showDev(devs[0]!, put(p, '--'));
    } else {
      devs.forEach((d, i) => {
        const q = put(p, i < devs.length - 1 ? '+-' : '\\-');
        showDev(d, q);
      });
    }
  };
  const showDev = (d: PciFunction, p: number): void => {
    p = put(p, `${hex2(d.address.device)}.${d.address.fn}`);
    if (d.isBridge && d.secondaryBus !== null) {
      const sec = d.secondaryBus;
      const sub = d.subordinateBus ?? sec;
      p = put(p, sec === sub ? `-[${hex2(sec)}]-` : `-[${hex2(sec)}-${hex2(sub)}]-`);
      p = put(p, '-');
      showBus(d.children, p);
      return;
    }
    if (verbose) p = put(p, `  ${describeFunction(d, opts)}`);
    printIt(p);
  };

  const hbs = topo.hostBridges;
  if (hbs.length === 1) {
    const hb = hbs[0]!;
    showBus(hb.rootBusDevices, put(0, `-[${hex4(hb.domain)}:${hex2(hb.rootBus)}]-`));
  } else {
    // pciutils' forest: one branch per root bus.
    put(0, '-');
    hbs.forEach((hb, i) => {
      const q = put(1, i < hbs.length - 1 ? '+-' : '\\-');
      showBus(hb.rootBusDevices, put(q, `[${hex4(hb.domain)}:${hex2(hb.rootBus)}]-`));
    });
  }
  return out.join('\n') + '\n';
}

/**
 * " ACS SV,RR,CR,UF" when control equals the capability (the original format), else the
 * two registers apart; control bits on a function without the capability are shown as
 * ignored, because the kernel never reads them (pci_bridge_has_acs_redir checks acs_cap).
 */
export function describeAcs(f: PciFunction): string {
  const cap = f.acsCap;
  if (cap === null) return f.firmwareAcs ? ` ACS ctrl ${acsNames(f.firmwareAcs).join(',')} ignored (no ACS capability)` : '';
  const ctrl = acsNames(f.acs).join(',') || '-';
  if (f.acs === cap) return ` ACS ${ctrl}`;
  return ` ACS ${ctrl} (cap ${acsNames(cap).join(',') || '-'})`;
}

/**
 * ACS of every function that has the capability or a control value, one line each
 * (`lspci -vv` shows these as ACSCap/ACSCtl; the tree has no room for them):
 *
 *   0000:02:01.0 switch-downstream: ACSCap SV,RR,CR,UF  ACSCtl SV,RR,CR,UF  (P2P redirect)
 */
export function renderAcs(topo: PciTopology): string[] {
  const out: string[] = [];
  for (const f of topo.functions) {
    if (f.acsCap === null && !f.firmwareAcs) continue;
    const names = (m: number): string => acsNames(m).join(',') || '-';
    if (f.acsCap === null) {
      out.push(`${f.bdf} ${f.role}: no ACS capability (control ${names(f.firmwareAcs)} declared, never read by the kernel)`);
      continue;
    }
    const boot = f.acs !== (f.firmwareAcs & f.acsCap) ? ` (firmware ${names(f.firmwareAcs & f.acsCap)})` : '';
    out.push(`${f.bdf} ${f.role}: ACSCap ${names(f.acsCap)}  ACSCtl ${names(f.acs)}${boot}${f.acsRedirect ? '  (P2P redirect)' : ''}`);
  }
  return out;
}
