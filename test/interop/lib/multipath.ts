/**
 * The multipath and reservation rows (issue 12): a SECOND nvmet-ts process
 * ("instance B") exports the same file-backed namespace as the target under
 * test ("instance A") — same subsystem NQN, serial, NSID, UUID, NGUID and
 * EUI-64, disjoint cntlid ranges — so the guest's native multipath builds one
 * namespace with a path through each process.
 *
 * Two subsystems are added to A's generated config; the rest of the suite never
 * sees them (other serials and NQNs):
 * - MP (`...:nvmet-ts-mp`): nsid 1 on `shared.img`, ANA group 2. A serves it on
 *   port 1 (4420) non-optimized; B serves it on 4421 optimized, so I/O flows
 *   through B and the rows kill B / set B's group inaccessible to move it to A —
 *   leaving A (and the controllers other rows hold on it) alone.
 * - RESV (`...:nvmet-ts-resv`): one namespace with reservations enabled, served
 *   by A only, on its ports 1 and 2: reservation state is per process in
 *   nvmet-ts (README, "Persistent reservations"), so the two host NQNs reach it
 *   through two ports of one process. One namespace per controller lets nvme-cli
 *   send I/O through a chosen controller (its char device), i.e. as a chosen host.
 */
import { writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { uuidFormNguid } from './plan.js';
import type { Plan } from './plan.js';
import { Target } from './target.js';
import type { ProcessRegistry } from './proc.js';
import type { Action } from './ctl.js';

/** Rows of this file, in run order (rows.ts lists them after ana-paths). */
export const MP_ROWS = ['mp-list-subsys', 'mp-fio-kill', 'mp-fio-ana', 'resv-two-hosts'] as const;

export interface MultipathPlan {
  readonly subnqn: string;
  readonly serial: string;
  readonly resvSubnqn: string;
  readonly resvSerial: string;
  /** B's NVMe/TCP port (A serves MP on plan.port) */
  readonly portB: number;
  readonly apiPortB: number;
  readonly grpid: number;
  readonly uuid: string;
  /** 32 hex digits */
  readonly nguid: string;
  /** 16 hex digits */
  readonly eui64: string;
  readonly sharedPath: string;
  readonly sharedBytes: number;
  readonly resvPath: string;
  readonly resvBytes: number;
  /** A's and B's cntlid ranges for MP */
  readonly cntlidA: readonly [number, number];
  readonly cntlidB: readonly [number, number];
  readonly fioSize: string;
}

export function makeMultipathPlan(dataDir: string): MultipathPlan {
  const MiB = 1 << 20;
  return {
    subnqn: 'nqn.2014-08.org.nvmexpress:nvmet-ts-mp',
    serial: `NVMETTSMP${randomBytes(3).toString('hex').toUpperCase()}`,
    resvSubnqn: 'nqn.2014-08.org.nvmexpress:nvmet-ts-resv',
    resvSerial: `NVMETTSRV${randomBytes(3).toString('hex').toUpperCase()}`,
    portB: 4421,
    apiPortB: 8421,
    grpid: 2,
    uuid: randomUUID(),
    nguid: randomBytes(16).toString('hex'),
    // locally administered (bit 1 of the first byte), not a real OUI
    eui64: `02${randomBytes(7).toString('hex')}`,
    sharedPath: join(dataDir, 'shared.img'),
    sharedBytes: 128 * MiB,
    resvPath: join(dataDir, 'resv.img'),
    resvBytes: 16 * MiB,
    cntlidA: [1, 999],
    cntlidB: [1000, 1999],
    fioSize: '56m',
  };
}

const port = (portid: number, trsvcid: number, subsystems: string[], anaGroups: { grpid: number; state: string }[]) => ({
  portid,
  addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: String(trsvcid), treq: 'not specified' },
  param: { inline_data_size: '16384' },
  referrals: [],
  subsystems,
  ana_groups: anaGroups.map((g) => ({ grpid: g.grpid, ana: { state: g.state } })),
});

function mpSubsystem(plan: Plan, mp: MultipathPlan, cntlid: readonly [number, number]): object {
  return {
    nqn: mp.subnqn,
    allowed_hosts: [plan.host.nqn, plan.altHost.nqn],
    attr: { allow_any_host: '0', serial: mp.serial, model: 'nvmet-ts multipath', version: '1.3', cntlid_min: String(cntlid[0]), cntlid_max: String(cntlid[1]) },
    namespaces: [{
      nsid: 1, enable: 1, ana_grpid: mp.grpid,
      device: { path: mp.sharedPath, uuid: mp.uuid, nguid: uuidFormNguid(mp.nguid) },
      nvmet_ts: { eui64: mp.eui64 },
    }],
  };
}

/** A's config (the suite's nvmetcli JSON) with MP on port 1 and RESV on ports 1 and 2. */
export function withMultipath(config: object, plan: Plan, mp: MultipathPlan): object {
  const c = structuredClone(config) as { ports: { portid: number; subsystems: string[]; ana_groups?: object[] }[]; subsystems: object[] };
  c.subsystems.push(mpSubsystem(plan, mp, mp.cntlidA), {
    nqn: mp.resvSubnqn,
    allowed_hosts: [plan.host.nqn, plan.altHost.nqn],
    attr: { allow_any_host: '0', serial: mp.resvSerial, model: 'nvmet-ts reservations', version: '1.3' },
    namespaces: [{ nsid: 1, enable: 1, device: { path: mp.resvPath, uuid: randomUUID(), nguid: uuidFormNguid(randomBytes(16).toString('hex')) }, resv: { enable: '1' } }],
  });
  for (const p of c.ports) {
    if (p.portid === 1) {
      p.subsystems.push(mp.subnqn, mp.resvSubnqn);
      p.ana_groups = [...(p.ana_groups ?? []), { grpid: mp.grpid, ana: { state: 'non-optimized' } }];
    } else if (p.portid === 2) p.subsystems.push(mp.resvSubnqn);
  }
  return c;
}

/** B's config: MP only, on its own port, group 2 optimized, the other cntlid range. */
export function instanceBConfig(plan: Plan, mp: MultipathPlan): object {
  return {
    hosts: [{ nqn: plan.host.nqn }, { nqn: plan.altHost.nqn }],
    ports: [port(1, mp.portB, [mp.subnqn], [{ grpid: mp.grpid, state: 'optimized' }])],
    subsystems: [mpSubsystem(plan, mp, mp.cntlidB)],
  };
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** /in/params-mp.sh (sourced by guest/checks-multipath.sh). */
export function multipathParamsSh(mp: MultipathPlan): string {
  const v: Record<string, string | number> = {
    MP_SUBNQN: mp.subnqn, MP_SERIAL: mp.serial, MP_PORT_B: mp.portB, MP_GRPID: mp.grpid,
    MP_UUID: mp.uuid, MP_NGUID: mp.nguid, MP_EUI64: mp.eui64, MP_BYTES: mp.sharedBytes,
    MP_CNTLID_A: `${mp.cntlidA[0]}-${mp.cntlidA[1]}`, MP_CNTLID_B: `${mp.cntlidB[0]}-${mp.cntlidB[1]}`,
    MP_FIO_SIZE: mp.fioSize, RESV_SUBNQN: mp.resvSubnqn,
  };
  return `# generated by test/interop/lib/multipath.ts\n${Object.entries(v).map(([k, x]) => `${k}=${shq(String(x))}`).join('\n')}\n`;
}

function mkfile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
}

async function api(apiPort: number, method: string, path: string, body?: object): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, text: await res.text() };
}

/** Write commands MP's nsid 1 served in one instance's current life (null if it is down). */
async function mpWrites(apiPort: number, mp: MultipathPlan): Promise<number | null> {
  try {
    const r = await api(apiPort, 'GET', `/api/subsystems/${encodeURIComponent(mp.subnqn)}/namespaces/1`);
    if (r.status !== 200) return null;
    const v = JSON.parse(r.text) as { live?: { stats?: { write_commands?: number } } };
    return v.live?.stats?.write_commands ?? null;
  } catch {
    return null;
  }
}

export interface Multipath {
  readonly mp: MultipathPlan;
  /** the second nvmet-ts process */
  readonly b: Target;
  /** ctl actions the guest's rows call */
  readonly actions: Record<string, Action>;
  start(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Files, B's config and guest params; B is started by start() once A listens.
 * `cmd` is the target command template (the same nvmet-ts build as A).
 */
export function setUpMultipath(o: {
  reg: ProcessRegistry; plan: Plan; mp: MultipathPlan; dir: string; inDir: string; cmd: string; env: NodeJS.ProcessEnv; apiPortA: number;
}): Multipath {
  const { mp } = o;
  mkfile(mp.sharedPath, mp.sharedBytes);
  mkfile(mp.resvPath, mp.resvBytes);
  const configB = join(o.dir, 'config-b.json');
  writeFileSync(configB, `${JSON.stringify(instanceBConfig(o.plan, mp), null, 2)}\n`);
  writeFileSync(join(o.inDir, 'params-mp.sh'), multipathParamsSh(mp));
  const b = new Target(o.reg, {
    cmd: o.cmd, configFile: configB, apiPort: mp.apiPortB, dataDir: join(o.dir, 'data-b'), logFile: join(o.dir, 'target-b.log'),
    ports: [mp.portB], env: o.env, restartSignal: 'SIGKILL',
  });
  let killedAt: number | null = null;
  const actions: Record<string, Action> = {
    // kill -9: no shutdown, no goodbye on the wire, as a crashed or fenced target
    'mp-kill': async () => {
      const pid = b.pid;
      if (pid === null) throw new Error('instance B is not running');
      const code = await b.stop('SIGKILL');
      killedAt = performance.now();
      return `ok: instance B (pid ${pid}) killed by SIGKILL (status ${code})`;
    },
    'mp-start': async () => {
      if (b.pid !== null) return `ok: instance B already running (pid ${b.pid})`;
      const ms = await b.start();
      const down = killedAt === null ? '' : ` after ${((performance.now() - killedAt) / 1000).toFixed(1)} s down`;
      return `ok: instance B (pid ${b.pid}) listening on ${mp.portB} in ${(ms / 1000).toFixed(1)} s${down}`;
    },
    'mp-ana': async (q) => {
      const state = q.get('state') ?? 'optimized';
      const r = await api(mp.apiPortB, 'PUT', `/api/ports/1/ana_groups/${mp.grpid}`, { state });
      if (r.status === 404 || r.status === 405) return `pending: needs the ANA API (${r.status} ${r.text.slice(0, 200)})`;
      if (r.status >= 300) throw new Error(`PUT B /api/ports/1/ana_groups/${mp.grpid} -> ${r.status} ${r.text.slice(0, 300)}`);
      return `ok: instance B port 1 group ${mp.grpid} ${state}`;
    },
    // which instance served writes to the shared namespace (in its current life)
    'mp-writes': async () => `ok: a=${await mpWrites(o.apiPortA, mp) ?? 'down'} b=${await mpWrites(mp.apiPortB, mp) ?? 'down'}`,
  };
  return {
    mp, b, actions,
    start: () => b.start(),
    stop: async () => { await b.stop(); },
  };
}

/** The ctl actions of this file, resolved when called (the control server starts before B exists). */
export function multipathActions(get: () => Multipath | null): Record<string, Action> {
  const out: Record<string, Action> = {};
  for (const name of ['mp-kill', 'mp-start', 'mp-ana', 'mp-writes']) {
    out[name] = async (q) => {
      const m = get();
      const a = m?.actions[name];
      return a === undefined ? 'pending: no second nvmet-ts instance in this run (kernel-local or --p2pmem)' : a(q);
    };
  }
  return out;
}
