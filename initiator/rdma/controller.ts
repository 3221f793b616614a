/**
 * A host's association with one NVMe-oF controller over the simulated RDMA fabric
 * (Linux nvme_rdma_ctrl): admin queue plus N I/O queue pairs. The bring-up is the
 * fabrics sequence every host runs — Connect (qid 0) → Property Get CAP → Property
 * Set CC.EN=1 → wait CSTS.RDY → Identify Controller → Set Features Number of Queues →
 * Connect per I/O queue — and the I/O helpers mirror the TCP Controller's (read,
 * write, flush, identify), so benches can run the same workload over either transport.
 *
 * Keep-alive is off by default (KATO 0: the target keeps the controller until the
 * host disconnects); pass `kato` to have one sent every kato/2.
 */

import { randomUUID } from 'node:crypto';
import { AdminOpcode, FABRICS_OPCODE, IoOpcode } from '../../src/nvme/opcodes.js';
import { encodeSqe, encodeRwCommand, RwControl, SQE_SIZE } from '../../src/nvme/sqe.js';
import {
  CNTLID_DYNAMIC,
  connectResultCntlid,
  encodeConnectCommand,
  encodeConnectData,
  encodeDisconnect,
  encodePropertyGet,
  encodePropertySet,
  uuidToBytes,
} from '../../src/nvme/fabrics.js';
import { CSTS_CFS, CSTS_RDY, CSTS_SHST_SHIFT, CcCss, Reg, Shn, Shst, capMqes, capTimeout, decodeCap, encodeCc } from '../../src/nvme/registers.js';
import { Cns, IDENTIFY_DATA_SIZE, encodeIdentifyCommand } from '../../src/nvme/identify.js';
import { decodeIdentifyController, mdtsBytes, type IdentifyController } from '../../src/nvme/identify-ctrl.js';
import { activeLbaSize, decodeIdentifyNamespace, type IdentifyNamespace } from '../../src/nvme/identify-ns.js';
import { FeatureId, decodeNumQueues, encodeNumQueues, encodeSetFeatures } from '../../src/nvme/features.js';
import type { StatusContext } from '../../src/nvme/status.js';
import type { RdmaFabric } from '../../src/rdma/fabric.js';
import { NvmeError, TimeoutError, TransportError } from '../errors.js';
import { RdmaHostQueue, type RdmaCompletion, type RdmaHostCommand } from './queue.js';

export interface RdmaConnectOptions {
  traddr: string;
  trsvcid: string;
  subnqn: string;
  /** Default: the process-wide fabric (the one target RDMA ports listen on by default). */
  fabric?: RdmaFabric;
  hostnqn?: string;
  /** UUID string (default random per process). */
  hostid?: string;
  /** I/O queue pairs (default 1). */
  queues?: number;
  /** Commands outstanding per I/O queue (default 128, capped by CAP.MQES). */
  queueDepth?: number;
  /** Keep Alive Timeout in ms sent at Connect (default 0: none). */
  kato?: number;
  /** Per-command timeout for bring-up commands, ms (default 5000). */
  timeoutMs?: number;
}

export interface RdmaIoOptions {
  /** I/O queue id (1..queues); default round-robin. */
  qid?: number;
  /** Writes: send the data in the capsule instead of a keyed SGL (must fit the port's inline size). */
  inCapsule?: boolean;
  fua?: boolean;
  timeoutMs?: number;
}

export interface RdmaNamespaceGeometry {
  nsid: number;
  lbaSize: number;
  nsze: number;
}

const HOSTID = randomUUID();
const ADMIN_QUEUE_ENTRIES = 32;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class RdmaController {
  readonly cntlid: number;
  readonly ioQueues: RdmaHostQueue[] = [];
  cap = 0n;
  identity: IdentifyController | null = null;
  /** Largest transfer per command (from MDTS), bytes; 0 = unlimited. */
  maxTransferBytes = 0;
  private readonly geometryCache = new Map<number, RdmaNamespaceGeometry>();
  private rr = 0;
  private kaTimer: NodeJS.Timeout | null = null;
  private closing = false;

  private constructor(
    private readonly opts: RdmaConnectOptions,
    readonly admin: RdmaHostQueue,
    cntlid: number,
    readonly hostid: string,
    readonly hostnqn: string,
  ) {
    this.cntlid = cntlid;
  }

  static async connect(opts: RdmaConnectOptions): Promise<RdmaController> {
    const hostid = opts.hostid ?? HOSTID;
    const hostnqn = opts.hostnqn ?? `nqn.2014-08.org.nvmexpress:uuid:${hostid}`;
    const admin = await RdmaHostQueue.open(opts);
    try {
      admin.setDepth(ADMIN_QUEUE_ENTRIES - 1);
      const cntlid = await connectQueue(admin, opts, { qid: 0, sqsize: ADMIN_QUEUE_ENTRIES - 1, kato: opts.kato ?? 0, cntlid: CNTLID_DYNAMIC, hostid, hostnqn });
      const c = new RdmaController(opts, admin, cntlid, hostid, hostnqn);
      try {
        await c.bringUp();
      } catch (e) {
        c.abort();
        throw e;
      }
      return c;
    } catch (e) {
      admin.close('connect failed');
      throw e;
    }
  }

  private async bringUp(): Promise<void> {
    this.cap = await this.propertyGet(Reg.Cap, 8);
    const cap = decodeCap(this.cap);
    await this.propertySet(Reg.Cc, 4, encodeCc({ en: true, css: CcCss.Nvm, mps: 0, ams: 0, shn: Shn.None, iosqes: 6, iocqes: 4 }));
    await this.waitCsts((v) => (v & CSTS_RDY) !== 0, 'CSTS.RDY=1');
    this.identity = await this.identifyController();
    this.maxTransferBytes = mdtsBytes(this.identity.mdts, 4096 * 2 ** cap.mpsmin);
    const want = this.opts.queues ?? 1;
    if (want > 0) await this.createIoQueues(want);
    const kato = this.opts.kato ?? 0;
    if (kato > 0) {
      this.kaTimer = setInterval(() => {
        this.adminCmd('Keep Alive', encodeSqe(new Uint8Array(SQE_SIZE), { opcode: AdminOpcode.KeepAlive })).catch(() => this.abort());
      }, Math.max(50, Math.floor(kato / 2)));
      this.kaTimer.unref();
    }
  }

  private async createIoQueues(want: number): Promise<void> {
    const dw0 = await this.adminCmd('Set Features (Number of Queues)', encodeSetFeatures(new Uint8Array(SQE_SIZE), { fid: FeatureId.NumberOfQueues, cdw11: encodeNumQueues(want - 1, want - 1) }));
    const got = decodeNumQueues(dw0.dw0);
    const n = Math.min(want, got.nsq + 1, got.ncq + 1);
    const mqes = capMqes(this.cap);
    let depth = Math.min(this.opts.queueDepth ?? 128, mqes > 0 ? mqes : 0xffff);
    const maxcmd = this.identity?.maxcmd ?? 0;
    if (maxcmd > 1) depth = Math.min(depth, maxcmd - 1);
    depth = Math.max(1, depth);
    for (let i = 1; i <= n; i++) {
      const q = await RdmaHostQueue.open(this.opts);
      try {
        q.setDepth(1);
        await connectQueue(q, this.opts, { qid: i, sqsize: depth, kato: 0, cntlid: this.cntlid, hostid: this.hostid, hostnqn: this.hostnqn });
        q.setDepth(depth);
        this.ioQueues.push(q);
      } catch (e) {
        q.close('I/O queue connect failed');
        throw e;
      }
    }
  }

  private readyTimeout(): number {
    return Math.min(15_000, Math.max(500, capTimeout(this.cap) * 500));
  }

  private async waitCsts(ok: (csts: number) => boolean, what: string): Promise<void> {
    const ms = this.readyTimeout();
    const deadline = performance.now() + ms;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      const csts = Number(await this.propertyGet(Reg.Csts, 4));
      if ((csts & CSTS_CFS) !== 0) throw new TransportError('protocol', `controller fatal status while waiting for ${what}`);
      if (ok(csts)) return;
      if (performance.now() >= deadline) throw new TimeoutError(`waiting for ${what}`, ms);
      await sleep(delay);
    }
  }

  // ------------------------------------------------------------------ commands

  private async cmd(q: RdmaHostQueue, what: string, c: RdmaHostCommand, ctx: StatusContext): Promise<RdmaCompletion> {
    const r = await q.submit({ timeoutMs: this.opts.timeoutMs ?? 5000, ...c });
    if (r.status !== 0) throw new NvmeError(r.status, { ...r, qid: q.qid, opcode: c.sqe[0]! }, what, ctx);
    return r;
  }

  private adminCmd(what: string, sqe: Uint8Array, extra: Omit<RdmaHostCommand, 'sqe'> = {}): Promise<RdmaCompletion> {
    return this.cmd(this.admin, what, { sqe, ...extra }, sqe[0] === FABRICS_OPCODE ? 'fabrics' : 'admin');
  }

  async propertyGet(offset: number, size: 4 | 8): Promise<bigint> {
    const c = await this.adminCmd(`Property Get 0x${offset.toString(16)}`, encodePropertyGet(new Uint8Array(SQE_SIZE), 0, offset, size));
    return size === 8 ? (BigInt(c.dw1 >>> 0) << 32n) | BigInt(c.dw0 >>> 0) : BigInt(c.dw0 >>> 0);
  }

  async propertySet(offset: number, size: 4 | 8, value: number | bigint): Promise<void> {
    await this.adminCmd(`Property Set 0x${offset.toString(16)}`, encodePropertySet(new Uint8Array(SQE_SIZE), 0, offset, size, value));
  }

  async identify(cns: number, nsid = 0): Promise<Uint8Array> {
    const buf = new Uint8Array(IDENTIFY_DATA_SIZE);
    await this.adminCmd(`Identify CNS ${cns}`, encodeIdentifyCommand(new Uint8Array(SQE_SIZE), { cns, nsid }), { dataIn: buf });
    return buf;
  }

  async identifyController(): Promise<IdentifyController> {
    return decodeIdentifyController(await this.identify(Cns.Controller));
  }

  async identifyNamespace(nsid: number): Promise<IdentifyNamespace> {
    return decodeIdentifyNamespace(await this.identify(Cns.Namespace, nsid));
  }

  async geometry(nsid: number): Promise<RdmaNamespaceGeometry> {
    let g = this.geometryCache.get(nsid);
    if (g === undefined) {
      const id = await this.identifyNamespace(nsid);
      g = { nsid, lbaSize: activeLbaSize(id), nsze: Number(id.nsze) };
      this.geometryCache.set(nsid, g);
    }
    return g;
  }

  /** A buffer in a SharedArrayBuffer: the target's copy engine can move it on a worker thread. */
  allocBuffer(bytes: number): Uint8Array {
    return new Uint8Array(new SharedArrayBuffer(bytes));
  }

  private ioQueue(o: RdmaIoOptions | undefined): RdmaHostQueue {
    const n = this.ioQueues.length;
    if (n === 0) throw new RangeError('controller has no I/O queues');
    if (o?.qid !== undefined) {
      const q = this.ioQueues[o.qid - 1];
      if (q === undefined) throw new RangeError(`no I/O queue ${o.qid}`);
      return q;
    }
    const q = this.ioQueues[this.rr]!;
    this.rr = (this.rr + 1) % n;
    return q;
  }

  /** Read `nlb` blocks at `slba` (split by MDTS) into `into` (allocated in shared memory when omitted). */
  async read(nsid: number, slba: number, nlb: number, into?: Uint8Array, opts?: RdmaIoOptions): Promise<Uint8Array> {
    const g = await this.geometry(nsid);
    const bytes = nlb * g.lbaSize;
    const dst = into ?? this.allocBuffer(bytes);
    if (dst.length < bytes) throw new RangeError(`read buffer of ${dst.length} bytes < ${bytes}`);
    await this.rw(IoOpcode.Read, nsid, slba, nlb, g.lbaSize, dst, opts);
    return dst.length === bytes ? dst : dst.subarray(0, bytes);
  }

  /** Write `data` (whole blocks) at `slba`, split by MDTS. */
  async write(nsid: number, slba: number, data: Uint8Array, opts?: RdmaIoOptions): Promise<void> {
    const g = await this.geometry(nsid);
    if (data.length === 0 || data.length % g.lbaSize !== 0) throw new RangeError(`write of ${data.length} bytes is not a positive multiple of the ${g.lbaSize}-byte LBA`);
    await this.rw(IoOpcode.Write, nsid, slba, data.length / g.lbaSize, g.lbaSize, data, opts);
  }

  async flush(nsid: number, opts?: RdmaIoOptions): Promise<void> {
    await this.cmd(this.ioQueue(opts), 'Flush', { sqe: encodeSqe(new Uint8Array(SQE_SIZE), { opcode: IoOpcode.Flush, nsid }) }, 'io');
  }

  /** Raw command on queue `qid` (0 = admin); returns the completion whatever its status. */
  submit(qid: number, cmd: RdmaHostCommand): Promise<RdmaCompletion> {
    const q = qid === 0 ? this.admin : this.ioQueues[qid - 1];
    if (q === undefined) return Promise.reject(new RangeError(`no queue ${qid}`));
    return q.submit(cmd);
  }

  private async rw(opcode: number, nsid: number, slba: number, nlb: number, lbaSize: number, buf: Uint8Array, opts: RdmaIoOptions | undefined): Promise<void> {
    const per = Math.min(0x10000, this.maxTransferBytes === 0 ? 0x10000 : Math.max(1, Math.floor(this.maxTransferBytes / lbaSize)));
    const parts: Promise<RdmaCompletion>[] = [];
    const what = opcode === IoOpcode.Read ? 'Read' : 'Write';
    for (let done = 0; done < nlb; done += per) {
      const n = Math.min(per, nlb - done);
      const sqe = encodeRwCommand(new Uint8Array(SQE_SIZE), { opcode, cid: 0, nsid, slba: slba + done, blocks: n, control: opts?.fua === true ? RwControl.Fua : 0 });
      const view = buf.subarray(done * lbaSize, (done + n) * lbaSize);
      const c: RdmaHostCommand = opcode === IoOpcode.Write ? { sqe, dataOut: view, inCapsule: opts?.inCapsule === true } : { sqe, dataIn: view };
      if (opts?.timeoutMs !== undefined) c.timeoutMs = opts.timeoutMs;
      parts.push(this.cmd(this.ioQueue(opts), what, c, 'io'));
    }
    await Promise.all(parts);
  }

  // ------------------------------------------------------------------ teardown

  /** Drop every queue pair without a shutdown handshake (what a host crash looks like). */
  abort(): void {
    if (this.kaTimer !== null) clearInterval(this.kaTimer);
    this.kaTimer = null;
    for (const q of this.ioQueues) q.close('controller aborted');
    this.admin.close('controller aborted');
  }

  /** Disconnect the I/O queues, shut the controller down (CC.SHN), close everything. Bounded in time. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.kaTimer !== null) clearInterval(this.kaTimer);
    this.kaTimer = null;
    await Promise.allSettled(
      this.ioQueues.filter((q) => !q.isClosed).map((q) => q.submit({ sqe: encodeDisconnect(new Uint8Array(SQE_SIZE), 0), timeoutMs: 2000 })),
    );
    for (const q of this.ioQueues) q.close('host disconnect');
    if (!this.admin.isClosed) {
      try {
        const cc = Number(await this.propertyGet(Reg.Cc, 4));
        await this.propertySet(Reg.Cc, 4, (cc & ~(3 << 14)) | (Shn.Normal << 14));
        await this.waitCsts((v) => ((v >>> CSTS_SHST_SHIFT) & 3) === Shst.Complete, 'CSTS.SHST=complete');
      } catch {
        // A controller that cannot shut down cleanly is still closed below.
      }
    }
    this.admin.close('host disconnect');
  }
}

async function connectQueue(
  q: RdmaHostQueue,
  o: RdmaConnectOptions,
  p: { qid: number; sqsize: number; kato: number; cntlid: number; hostid: string; hostnqn: string },
): Promise<number> {
  const sqe = encodeConnectCommand(new Uint8Array(SQE_SIZE), { qid: p.qid, sqsize: p.sqsize, kato: p.kato });
  const data = encodeConnectData({ hostId: uuidToBytes(p.hostid), cntlid: p.cntlid, subnqn: o.subnqn, hostnqn: p.hostnqn });
  const c = await q.submit({ sqe, dataOut: data, timeoutMs: o.timeoutMs ?? 5000 });
  if (c.status !== 0) throw new NvmeError(c.status, { ...c, qid: p.qid, opcode: FABRICS_OPCODE }, `Connect qid ${p.qid} to ${o.subnqn}`, 'fabrics');
  q.qid = p.qid;
  return connectResultCntlid(c.dw0);
}
