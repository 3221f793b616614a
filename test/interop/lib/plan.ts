/**
 * The run plan: one subsystem, its namespaces, hosts and ports, written once
 * and used three ways — as the target's nvmetcli JSON config, as the guest's
 * params.sh, and as the expectations the runner checks the guest's output against.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export type TargetMode = 'nvmet-ts' | 'kernel-local';

export interface HostId { readonly nqn: string; readonly id: string }

export interface NamespacePlan {
  readonly nsid: number;
  readonly bytes: number;
  readonly uuid: string;
  /** 32 hex digits */
  readonly nguid: string;
  /** backing file on the runner's side (nvmet-ts mode) */
  readonly path: string;
}

export interface Plan {
  readonly mode: TargetMode;
  /** address the guest connects to */
  readonly taddr: string;
  readonly port: number;
  /** second port used for discovery (also serves the subsystem, as in Linux nvmet) */
  readonly discPort: number | null;
  readonly subnqn: string;
  readonly serial: string;
  readonly model: string;
  readonly host: HostId;
  readonly altHost: HostId;
  readonly deniedHost: HostId;
  /** namespaces present from the start */
  readonly namespaces: readonly NamespacePlan[];
  /** namespace the ns-add check adds while the host is connected */
  readonly added: NamespacePlan;
  readonly fioSize: string;
  /** keep-alive timeout (s) the keep-alive check connects with */
  readonly kato: number;
  readonly ctlPort: number;
  readonly checks: readonly string[];
  /**
   * Place the namespaces behind the NVMe SSDs of the default (jbof) PCIe
   * topology and the ports on its RDMA NIC with allow_p2pmem, so I/O from the
   * host is staged in p2pmem.
   */
  readonly p2pmem: boolean;
}

export function hostId(): HostId {
  const id = randomUUID();
  return { nqn: `nqn.2014-08.org.nvmexpress:uuid:${id}`, id };
}

function ns(nsid: number, bytes: number, dir: string): NamespacePlan {
  const uuid = randomUUID();
  return { nsid, bytes, uuid, nguid: randomBytes(16).toString('hex'), path: `${dir}/ns${nsid}.img` };
}

export function makePlan(o: { mode: TargetMode; dataDir: string; ctlPort: number; checks: readonly string[]; port?: number; discPort?: number | null; kato?: number; fioSize?: string; p2pmem?: boolean }): Plan {
  const MiB = 1 << 20;
  return {
    mode: o.mode,
    taddr: o.mode === 'kernel-local' ? '127.0.0.1' : '10.0.2.2',
    port: o.port ?? 4420,
    discPort: o.discPort === undefined ? 8009 : o.discPort,
    subnqn: 'nqn.2014-08.org.nvmexpress:nvmet-ts-interop',
    serial: `NVMETTS${randomBytes(4).toString('hex').toUpperCase()}`,
    model: 'nvmet-ts interop',
    host: hostId(),
    altHost: hostId(),
    deniedHost: hostId(),
    namespaces: [ns(1, 128 * MiB, o.dataDir), ns(2, 128 * MiB, o.dataDir)],
    added: ns(3, 64 * MiB, o.dataDir),
    fioSize: o.fioSize ?? '32m',
    kato: o.kato ?? 5,
    ctlPort: o.ctlPort,
    checks: o.checks,
    p2pmem: o.p2pmem ?? false,
  };
}

/** Ports the target listens on (what the capture filters and the wire check decodes). */
export function targetPorts(p: Plan): number[] {
  return p.discPort === null ? [p.port] : [p.port, p.discPort];
}

/** PCI placement in the default topology (config/topologies/default.json, "jbof"). */
export const JBOF = { nic: '0000:03:00.0', ssds: ['0000:04:00.0', '0000:05:00.0'] } as const;

/** nvmetcli-compatible JSON (the format `nvmetcli save` writes), plus nvmet-ts placement keys in p2pmem mode. */
export function nvmetcliConfig(p: Plan): object {
  const port = (portid: number, trsvcid: number) => ({
    portid,
    addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: String(trsvcid), treq: 'not specified' },
    param: p.p2pmem ? { inline_data_size: '16384', allow_p2pmem: '1' } : { inline_data_size: '16384' },
    referrals: [],
    subsystems: [p.subnqn],
    ...(p.p2pmem ? { nvmet_ts: { nic: JBOF.nic } } : {}),
  });
  return {
    hosts: [{ nqn: p.host.nqn }, { nqn: p.altHost.nqn }],
    ports: p.discPort === null ? [port(1, p.port)] : [port(1, p.port), port(2, p.discPort)],
    subsystems: [{
      nqn: p.subnqn,
      allowed_hosts: [p.host.nqn, p.altHost.nqn],
      attr: { allow_any_host: '0', serial: p.serial, model: p.model, version: '1.3' },
      namespaces: p.namespaces.map((n) => nsConfig(n, p.p2pmem)),
    }],
  };
}

export function nsConfig(n: NamespacePlan, p2pmem = false): object {
  const base = { nsid: n.nsid, enable: 1, device: { path: n.path, uuid: n.uuid, nguid: uuidFormNguid(n.nguid) } };
  if (!p2pmem) return base;
  return { ...base, p2pmem: true, nvmet_ts: { nvme: JBOF.ssds[(n.nsid - 1) % JBOF.ssds.length] } };
}

/** nvmetcli writes NGUIDs in UUID form (8-4-4-4-12); nvme-cli prints 32 plain hex digits. */
export function uuidFormNguid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** /in/params.sh for the guest. */
export function paramsSh(p: Plan): string {
  const v: Record<string, string | number> = {
    MODE: p.mode, TADDR: p.taddr, PORT: p.port, DISC_PORT: p.discPort ?? '',
    SUBNQN: p.subnqn, SERIAL: p.serial, MODEL: p.model,
    HOSTNQN: p.host.nqn, HOSTID: p.host.id,
    ALT_HOSTNQN: p.altHost.nqn, ALT_HOSTID: p.altHost.id,
    DENIED_HOSTNQN: p.deniedHost.nqn, DENIED_HOSTID: p.deniedHost.id,
    NSIDS: p.namespaces.map((n) => n.nsid).join(' '),
    FIO_SIZE: p.fioSize, KATO: p.kato, CTL_PORT: p.ctlPort,
    CHECKS: p.checks.join(' '),
  };
  for (const n of [...p.namespaces, p.added]) {
    v[`NS${n.nsid}_BYTES`] = n.bytes; v[`NS${n.nsid}_UUID`] = n.uuid; v[`NS${n.nsid}_NGUID`] = n.nguid;
  }
  return `# generated by test/interop/run.ts\n${Object.entries(v).map(([k, x]) => `${k}=${shq(String(x))}`).join('\n')}\n`;
}
