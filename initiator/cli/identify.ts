/** `nvmet-ts-initiator identify ctrl|ns|ns-list|ns-descs`: Identify data, pretty or JSON. */
import { parseArgs } from 'node:util';
import { connect } from '../index.js';
import { formatVersion } from '../../src/nvme/registers.js';
import type { IdentifyController } from '../../src/nvme/identify-ctrl.js';
import type { IdentifyNamespace } from '../../src/nvme/identify-ns.js';
import { activeLbaSize } from '../../src/nvme/identify-ns.js';
import { CONNECTION_USAGE, UsageError, connectOptionsFrom, connectionOptions, hex, nsidArg, nsidOption, toJson } from './common.js';
import type { CliIo } from './common.js';

export const IDENTIFY_USAGE = `Usage: nvmet-ts-initiator identify <ctrl|ns|ns-list|ns-descs> -n NQN [--nsid N] [options]

  ctrl        Identify Controller (CNS 01h)
  ns          Identify Namespace (CNS 00h) of --nsid
  ns-list     Active Namespace ID list (CNS 02h)
  ns-descs    Namespace Identification Descriptors (CNS 03h) of --nsid

      --nsid N           namespace id (default 1)

${CONNECTION_USAGE}`;

function ctrlText(c: IdentifyController): string {
  const rows: [string, string][] = [
    ['vid', hex(c.vid, 4)],
    ['ssvid', hex(c.ssvid, 4)],
    ['sn', c.sn],
    ['mn', c.mn],
    ['fr', c.fr],
    ['ieee', hex(c.ieee, 6)],
    ['cmic', hex(c.cmic)],
    ['mdts', String(c.mdts)],
    ['cntlid', hex(c.cntlid, 4)],
    ['ver', `${hex(c.ver, 8)} (${formatVersion(c.ver)})`],
    ['oaes', hex(c.oaes, 8)],
    ['ctratt', hex(c.ctratt, 8)],
    ['cntrltype', String(c.cntrltype)],
    ['oacs', hex(c.oacs, 4)],
    ['acl', String(c.acl)],
    ['aerl', String(c.aerl)],
    ['lpa', hex(c.lpa)],
    ['elpe', String(c.elpe)],
    ['kas', String(c.kas)],
    ['sqes', hex(c.sqes)],
    ['cqes', hex(c.cqes)],
    ['maxcmd', String(c.maxcmd)],
    ['nn', String(c.nn)],
    ['oncs', hex(c.oncs, 4)],
    ['fuses', hex(c.fuses, 4)],
    ['vwc', hex(c.vwc)],
    ['sgls', hex(c.sgls, 8)],
    ['mnan', String(c.mnan)],
    ['subnqn', c.subnqn],
    ['ioccsz', String(c.ioccsz)],
    ['iorcsz', String(c.iorcsz)],
    ['icdoff', String(c.icdoff)],
    ['fcatt', hex(c.fcatt)],
    ['msdbd', String(c.msdbd)],
    ['ofcs', hex(c.ofcs, 4)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(10)}: ${v}`).join('\n');
}

function nsText(n: IdentifyNamespace): string {
  const rows: [string, string][] = [
    ['nsze', `${n.nsze}`],
    ['ncap', `${n.ncap}`],
    ['nuse', `${n.nuse}`],
    ['nsfeat', hex(n.nsfeat)],
    ['nlbaf', String(n.nlbaf)],
    ['flbas', hex(n.flbas)],
    ['nmic', hex(n.nmic)],
    ['dlfeat', String(n.dlfeat)],
    ['nguid', Buffer.from(n.nguid).toString('hex')],
    ['eui64', Buffer.from(n.eui64).toString('hex')],
  ];
  const lines = rows.map(([k, v]) => `${k.padEnd(8)}: ${v}`);
  const inUse = (() => {
    try {
      return activeLbaSize(n);
    } catch {
      return 0;
    }
  })();
  n.lbaf.forEach((f, i) => {
    const active = 2 ** f.lbads === inUse && i === ((n.flbas & 0xf) | (((n.flbas >>> 5) & 3) << 4));
    lines.push(`lbaf ${String(i).padStart(2)} : ms:${f.ms} lbads:${f.lbads} rp:${hex(f.rp)}${active ? ' (in use)' : ''}`);
  });
  return lines.join('\n');
}

export async function identifyCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...connectionOptions, ...nsidOption },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    io.out(IDENTIFY_USAGE);
    return 0;
  }
  const what = positionals[0];
  if (positionals.length !== 1 || !['ctrl', 'ns', 'ns-list', 'ns-descs'].includes(what!)) {
    throw new UsageError('identify takes exactly one of: ctrl, ns, ns-list, ns-descs');
  }
  const nsid = nsidArg(values.nsid);
  const ctrl = await connect({ ...connectOptionsFrom(values), queues: 0 });
  try {
    let v: unknown;
    let text: string;
    switch (what) {
      case 'ctrl': {
        const c = ctrl.identity ?? (await ctrl.identifyController());
        v = c;
        text = ctrlText(c);
        break;
      }
      case 'ns': {
        const n = await ctrl.identifyNamespace(nsid);
        v = n;
        text = nsText(n);
        break;
      }
      case 'ns-list': {
        const l = await ctrl.activeNamespaces(0);
        v = l;
        text = l.map((id, i) => `[${String(i).padStart(4)}]:${hex(id)}`).join('\n');
        break;
      }
      default: {
        const d = await ctrl.namespaceDescriptors(nsid);
        v = d;
        text = d.map((x) => `nidt ${x.nidt}: ${Buffer.from(x.nid).toString('hex')}`).join('\n');
      }
    }
    io.out(values.json ? toJson(v) : text);
    return 0;
  } finally {
    await ctrl.close();
  }
}
