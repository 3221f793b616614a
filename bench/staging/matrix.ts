/**
 * The staging bench matrix (issue 7): topology × staging × transport × workload ×
 * queue depth × queues, and the presets that pick a slice of it.
 *
 * Cells are ordered so that the two stagings of one configuration run back to
 * back (system then p2pmem, then p2pmem then system for the next configuration:
 * ABBA, so a drift in machine speed during the run does not favour one staging),
 * and cells sharing a topology and transport run together (one target each).
 */

export const TOPOLOGIES = ['jbof', 'different-switches', 'root-ports', 'narrow-uplink'] as const;
export type TopologyName = (typeof TOPOLOGIES)[number];

export const STAGINGS = ['system', 'p2pmem'] as const;
export type Staging = (typeof STAGINGS)[number];

export const TRANSPORTS = ['tcp', 'rdma'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface Workload {
  readonly name: string;
  readonly rw: 'read' | 'write';
  readonly pattern: 'rand' | 'seq';
  /** Bytes per I/O. */
  readonly bs: number;
}

const KiB = 1024;
const MiB = 1024 * 1024;

export const WORKLOADS: readonly Workload[] = [
  { name: 'randread-4k', rw: 'read', pattern: 'rand', bs: 4 * KiB },
  { name: 'randwrite-4k', rw: 'write', pattern: 'rand', bs: 4 * KiB },
  { name: 'seqread-128k', rw: 'read', pattern: 'seq', bs: 128 * KiB },
  { name: 'seqwrite-128k', rw: 'write', pattern: 'seq', bs: 128 * KiB },
  { name: 'seqread-1m', rw: 'read', pattern: 'seq', bs: MiB },
  { name: 'seqwrite-1m', rw: 'write', pattern: 'seq', bs: MiB },
];

export const QUEUE_DEPTHS = [1, 32] as const;
export const QUEUE_COUNTS = [1, 2] as const;

export interface Cell {
  /** "jbof/tcp/seqread-128k/qd32/q1/p2pmem": unique within a matrix. */
  readonly id: string;
  readonly topology: TopologyName;
  readonly staging: Staging;
  readonly transport: Transport;
  readonly workload: Workload;
  readonly qd: number;
  readonly queues: number;
  /** Cells that differ only in staging share a config key (their ratio is the comparison). */
  readonly configKey: string;
}

export interface Preset {
  readonly name: string;
  readonly topologies: readonly TopologyName[];
  readonly stagings: readonly Staging[];
  readonly transports: readonly Transport[];
  readonly workloads: readonly string[];
  readonly qds: readonly number[];
  readonly queues: readonly number[];
  /** Measured seconds per cell. */
  readonly seconds: number;
  /** Unmeasured warm-up per cell (JIT, pools, TCP windows). */
  readonly warmupSeconds: number;
  /**
   * Rounds for the configurations whose staging ratio is judged (JBOF, 128 KiB),
   * the matrix cell itself being the first: each further round is a short slice
   * (`ratioSliceSeconds`, no warm-up: both connections are warm) of each staging,
   * ABBA-ordered, so both stagings sample the same machine conditions; the ratio is
   * the median of per-round ratios.
   */
  readonly ratioRounds: number;
  readonly ratioSliceSeconds: number;
}

/**
 * Quick: every topology and transport, the workloads that show the difference
 * (4 KiB random read, 128 KiB sequential read and write, 1 MiB sequential write)
 * at QD32 on one queue; ~1.2 s per cell so `npm run bench` stays under 3 minutes
 * on 2 cores.
 */
export const QUICK: Preset = {
  name: 'quick',
  topologies: TOPOLOGIES,
  stagings: STAGINGS,
  transports: TRANSPORTS,
  workloads: ['randread-4k', 'seqread-128k', 'seqwrite-128k', 'seqwrite-1m'],
  qds: [32],
  queues: [1],
  seconds: 1,
  warmupSeconds: 0.25,
  ratioRounds: 15,
  ratioSliceSeconds: 0.3,
};

/** Full: the whole matrix, 2 s per cell. */
export const FULL: Preset = {
  name: 'full',
  topologies: TOPOLOGIES,
  stagings: STAGINGS,
  transports: TRANSPORTS,
  workloads: WORKLOADS.map((w) => w.name),
  qds: QUEUE_DEPTHS,
  queues: QUEUE_COUNTS,
  seconds: 2,
  warmupSeconds: 0.5,
  ratioRounds: 21,
  ratioSliceSeconds: 0.5,
};

export const PRESETS: Readonly<Record<string, Preset>> = { quick: QUICK, full: FULL };

export function workloadByName(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (w === undefined) throw new RangeError(`unknown workload "${name}" (known: ${WORKLOADS.map((x) => x.name).join(', ')})`);
  return w;
}

export function configKeyOf(c: Omit<Cell, 'id' | 'configKey' | 'staging'>): string {
  return `${c.topology}/${c.transport}/${c.workload.name}/qd${c.qd}/q${c.queues}`;
}

/** Every cell of a preset, grouped by topology then transport, stagings of one configuration adjacent (ABBA). */
export function expandMatrix(p: Preset): Cell[] {
  const cells: Cell[] = [];
  let flip = false;
  for (const topology of p.topologies) {
    for (const transport of p.transports) {
      for (const wname of p.workloads) {
        const workload = workloadByName(wname);
        for (const qd of p.qds) {
          for (const queues of p.queues) {
            const base = { topology, transport, workload, qd, queues };
            const configKey = configKeyOf(base);
            const order = flip ? [...p.stagings].reverse() : p.stagings;
            flip = !flip;
            for (const staging of order) cells.push({ ...base, staging, configKey, id: `${configKey}/${staging}` });
          }
        }
      }
    }
  }
  return cells;
}

/** Consecutive runs of cells with the same topology and transport: each runs against one target. */
export function groupByTarget(cells: readonly Cell[]): Cell[][] {
  const groups: Cell[][] = [];
  for (const c of cells) {
    const last = groups[groups.length - 1];
    if (last !== undefined && last[0]!.topology === c.topology && last[0]!.transport === c.transport) last.push(c);
    else groups.push([c]);
  }
  return groups;
}

/** Whether a configuration's staging ratio is one the issue judges (JBOF, 128 KiB). */
export function isRatioCell(c: Pick<Cell, 'topology' | 'workload'>): boolean {
  return c.topology === 'jbof' && c.workload.bs === 128 * KiB;
}

/** Measured + warm-up seconds a preset plans (target start-up, connects and group warm-ups come on top). */
export function plannedSeconds(p: Preset): number {
  const cells = expandMatrix(p);
  return cells.length * (p.warmupSeconds + p.seconds) + (p.ratioRounds - 1) * cells.filter(isRatioCell).length * p.ratioSliceSeconds;
}
