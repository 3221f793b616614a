/**
 * Reactors (CLI --reactors N): N event loops serve NVMe/TCP connections, the main
 * thread's and N-1 worker threads'. The main thread keeps the whole target core
 * (subsystems, controllers, namespaces, discovery, admin and fabrics commands, the
 * API); a reactor runs the transport of the connections it is handed and their
 * Read/Write commands on shared media, and forwards every other command here, where
 * it runs through the core exactly like a command of a main-thread connection.
 *
 * Placement: the main thread accepts; connections of a port go round-robin over the
 * loops, the main thread included. Node 20 cannot hand a socket to a worker (neither
 * postMessage transfer nor SO_REUSEPORT, bench/README.md "Multi-core"), so the
 * accepted descriptor is duplicated (src/os/fd-dup.ts), the main thread's socket
 * closed and the duplicate wrapped by the reactor. Connections stay on the main
 * thread where a reactor could not serve them as the main thread would: TLS ports
 * (the TLS session is the main thread's), ports staging in p2pmem (allow_p2pmem: the
 * p2pmem pools are the main thread's), and while the fault engine is armed.
 *
 * What a reactor cannot see goes through here: a command's state (controller ready,
 * namespace enabled and its ANA state, reservations) is given to it as a view stamped
 * with the state epoch (target/core/state-epoch.ts) and used only while the epoch has
 * not moved. Counters come back every `statsMs` (100 ms) and on `flush()`.
 */

import { Worker } from 'node:worker_threads';
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from '../core/log.js';
import type { Nvmet } from '../core/nvmet.js';
import type { Namespace } from '../core/namespace.js';
import { DataDir } from '../core/fabrics-ops.js';
import type { CoreQueue, CoreQueueFactory, PortLimits, TransportQueue, TransportRequest } from '../core/fabrics-ops.js';
import { CoreQueueImpl } from '../core/queue.js';
import { anaIoStatus } from '../core/ana.js';
import { mirrorStateEpoch, stateEpoch } from '../core/state-epoch.js';
import { DeviceBackend } from '../p2p/device-backend.js';
import { NvmeStatus, STATUS_DNR } from '../../src/nvme/status.js';
import type { NicKind } from '../../src/pci/model.js';
import type { LinkAccounting } from '../../src/copy/link-accounting.js';
import { replayDmaRecords } from '../../src/copy/dma-recorder.js';
import { dupFd, fdDupAvailable } from '../../src/os/fd-dup.js';
import { workerFile } from '../../src/copy/worker-file.js';
import type { ConnectionHandover } from '../tcp/handover.js';
import type { ConnView, FromReactor, NsView, ReactorStats, ToReactor } from './protocol.js';
import type { ReactorInit } from './reactor-thread.js';

/** What the data path says of a port (null without a data path: nothing accounted, no p2pmem). */
export interface ReactorPortModel {
  readonly nic: string | null;
  readonly nicKind: NicKind | null;
  /** The port stages in p2pmem (allow_p2pmem): its connections stay on the main thread. */
  readonly allowP2pmem: boolean;
}

export interface ReactorPoolOptions {
  /** Event loops in all, the main thread's included (≥ 2). */
  readonly loops: number;
  readonly nvmet: Nvmet;
  readonly logger: Logger;
  /** The data path's link accounting, where reactors' DMAs are replayed (null: none). */
  readonly accounting: LinkAccounting | null;
  readonly portModel: (portId: number) => ReactorPortModel | null;
  /** The transport's MDTS in bytes (0 = none). */
  readonly maxTransfer: number;
  /** The transport's staging budget, reserve and R2T budget (bytes); each loop gets an equal share. */
  readonly stagingBudget: number;
  readonly stagingReserve: number;
  readonly r2tBudget: number;
  /** Report interval of the reactors' counters (default 100 ms). */
  readonly statsMs?: number;
  /** Wait for a reactor to start or answer a flush (default 10 s). */
  readonly timeoutMs?: number;
}

/** Counters of the pool (API, bench, tests). */
export interface ReactorPoolStats {
  readonly loops: number;
  /** Connections served by each reactor now (index 0: reactor 1). */
  readonly connections: readonly number[];
  /** Connections handed to reactors since start. */
  readonly handedOver: number;
  /** Commands reactors ran themselves / forwarded to the main thread (as of their last report). */
  readonly localCommands: number;
  readonly forwardedCommands: number;
}

interface ReactorWorker {
  readonly index: number;
  readonly worker: Worker;
  readonly conns: Set<RemoteConn>;
}

/** The main thread's side of a connection a reactor serves: its core queue's transport. */
class RemoteConn implements TransportQueue {
  readonly core: CoreQueue;
  readonly reqs: TransportRequest<number>[] = [];
  readonly held: boolean[] = [];
  closed = false;
  private disconnectAsked = false;

  constructor(
    private readonly pool: ReactorPool,
    readonly id: number,
    readonly reactor: ReactorWorker,
    readonly portId: number,
    readonly peer: string,
    readonly localAddr: string,
    factory: CoreQueueFactory,
    private readonly onGone: () => void,
  ) {
    this.core = factory.createQueue(this);
  }

  queueResponse(req: TransportRequest<number>): void {
    this.pool.respond(this, req);
  }

  disconnect(reason: string): void {
    if (this.closed || this.disconnectAsked) return;
    this.disconnectAsked = true;
    this.pool.post(this.reactor, { t: 'disconnect', conn: this.id, reason });
  }

  /** The reactor let go of the connection: release what the core still holds and detach. */
  gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.onGone();
    this.core.destroy();
    for (let s = 0; s < this.held.length; s++) {
      if (this.held[s] === true) {
        this.held[s] = false;
        this.reqs[s]!.release();
      }
    }
  }
}

export class ReactorPool implements ConnectionHandover {
  private readonly reactors: ReactorWorker[] = [];
  private readonly conns = new Map<number, RemoteConn>();
  private nextConn = 1;
  private turn = 0;
  private handedOver = 0;
  private localCommands = 0;
  private forwardedCommands = 0;
  /** Word 0: the state epoch (mirrored); word 1: 1 while the main thread observes I/O latency. */
  private readonly epoch = new Int32Array(new SharedArrayBuffer(8));
  private readonly observeTimer: NodeJS.Timeout;
  private readonly unmirror: () => void;
  private readonly nsKeys = new WeakMap<Namespace, number>();
  private readonly nsByKey = new Map<number, WeakRef<Namespace>>();
  private nextNsKey = 1;
  private nextFlush = 1;
  private readonly flushWaits = new Map<number, { left: number; done: () => void }>();
  private closing = false;
  private readonly timeoutMs: number;

  private constructor(private readonly opts: ReactorPoolOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.unmirror = mirrorStateEpoch(this.epoch);
    // The management API installs its observer after start-up: reactors follow within 250 ms.
    this.syncObserving();
    this.observeTimer = setInterval(() => this.syncObserving(), 250);
    this.observeTimer.unref();
    opts.nvmet.faultRulesBlocked = () => {
      const n = this.conns.size;
      if (n === 0) return null;
      return `${n} connection(s) are served by reactor threads, where injected faults cannot act: fault rules need every connection on the main thread (disconnect them first, or run with --reactors 1)`;
    };
  }

  private syncObserving(): void {
    Atomics.store(this.epoch, 1, this.opts.nvmet.ioObserver !== null ? 1 : 0);
  }

  /** Start `loops - 1` reactor threads; resolves once every one is ready. */
  static async start(opts: ReactorPoolOptions): Promise<ReactorPool> {
    if (!Number.isInteger(opts.loops) || opts.loops < 2) throw new RangeError(`reactors: ${opts.loops} event loops: need at least 2`);
    const dup = fdDupAvailable();
    if (!dup.ok) throw new Error(`reactors: connections cannot be handed to worker threads: ${dup.why}`);
    const pool = new ReactorPool(opts);
    const file = workerFile(import.meta.url, 'reactor-thread');
    const share = (n: number): number => Math.floor(n / opts.loops);
    try {
      for (let i = 1; i < opts.loops; i++) {
        const init: ReactorInit = {
          index: i,
          epoch: pool.epoch.buffer as SharedArrayBuffer,
          maxTransfer: opts.maxTransfer,
          stagingBudget: share(opts.stagingBudget),
          stagingReserve: share(opts.stagingReserve),
          r2tBudget: share(opts.r2tBudget),
          bufferCap: share(64 << 20),
          statsMs: opts.statsMs ?? 100,
        };
        const worker = new Worker(file, { workerData: init, name: `nvmet-ts reactor ${i}` });
        const r: ReactorWorker = { index: i, worker, conns: new Set() };
        pool.reactors.push(r);
        await pool.ready(r);
        worker.on('message', (m: FromReactor) => pool.onMessage(r, m));
        worker.on('error', (e) => opts.logger.error(`reactor ${i}: ${e.stack ?? e.message}`));
        worker.on('exit', (code) => pool.exited(r, code));
      }
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private ready(r: ReactorWorker): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => fail(new Error(`reactor ${r.index} did not start within ${this.timeoutMs} ms`)), this.timeoutMs);
      const onMsg = (m: FromReactor): void => {
        if (m.t !== 'ready') return;
        cleanup();
        resolve();
      };
      const fail = (e: Error): void => {
        cleanup();
        reject(e);
      };
      const onExit = (code: number): void => fail(new Error(`reactor ${r.index} exited with code ${code} while starting`));
      const cleanup = (): void => {
        clearTimeout(t);
        r.worker.off('message', onMsg);
        r.worker.off('error', fail);
        r.worker.off('exit', onExit);
      };
      r.worker.on('message', onMsg);
      r.worker.once('error', fail);
      r.worker.once('exit', onExit);
    });
  }

  get loops(): number {
    return this.opts.loops;
  }

  stats(): ReactorPoolStats {
    return {
      loops: this.opts.loops,
      connections: this.reactors.map((r) => r.conns.size),
      handedOver: this.handedOver,
      localCommands: this.localCommands,
      forwardedCommands: this.forwardedCommands,
    };
  }

  /** The connections reactors serve now: which reactor (1..loops-1), queue id (-1 before Connect), controller. */
  connections(): { reactor: number; portId: number; qid: number; cntlid: number | null; peer: string }[] {
    return [...this.conns.values()].map((c) => ({
      reactor: c.reactor.index,
      portId: c.portId,
      qid: c.core.qid,
      cntlid: c.core instanceof CoreQueueImpl ? (c.core.ctrl?.cntlid ?? null) : null,
      peer: c.peer,
    }));
  }

  // ------------------------------------------------------------ ConnectionHandover

  take(accepted: Socket, port: { portId: number; inlineDataSize: number; limits: PortLimits }, core: CoreQueueFactory, gone: () => void): boolean {
    if (this.closing) return false;
    const turn = this.turn;
    this.turn = (turn + 1) % this.opts.loops;
    if (turn === 0) return false;
    const model = this.opts.portModel(port.portId);
    if (model?.allowP2pmem === true || this.faultsArmed()) return false;
    const r = this.reactors[turn - 1]!;
    const handle = (accepted as unknown as { _handle: { fd?: number } | null })._handle;
    const fd = handle?.fd;
    if (typeof fd !== 'number' || fd < 0 || accepted.destroyed) return false;
    let dup: number;
    try {
      dup = dupFd(fd);
    } catch (e) {
      this.opts.logger.warn(`reactors: connection stays on the main thread: ${(e as Error).message}`);
      return false;
    }
    const local = accepted.localAddress ?? '';
    const localAddr = local.startsWith('::ffff:') && local.includes('.') ? local.slice(7) : local;
    const id = this.nextConn++;
    let c: RemoteConn;
    try {
      c = new RemoteConn(this, id, r, port.portId, `${accepted.remoteAddress ?? '?'}:${accepted.remotePort ?? 0}`, localAddr, core, gone);
    } catch (e) {
      this.opts.logger.error(`tcp port ${port.portId}: core refused the queue: ${String(e)}`);
      accepted.destroy();
      closeFd(dup);
      gone(); // the transport counts what we take: this one is gone already
      return true;
    }
    // Our socket goes; the connection lives on in the duplicate, which the reactor now owns.
    accepted.destroy();
    this.conns.set(id, c);
    r.conns.add(c);
    this.handedOver++;
    this.post(r, {
      t: 'conn',
      conn: id,
      fd: dup,
      port: { portId: port.portId, inlineDataSize: port.inlineDataSize, limits: port.limits, nic: model?.nic ?? null, nicKind: model?.nicKind ?? null },
    });
    return true;
  }

  /** A port goes: its reactor connections are dropped like the main thread's (the listener is closed by the transport). */
  dropPort(portId: number): void {
    for (const c of this.conns.values()) if (c.portId === portId) c.disconnect('port removed');
  }

  // ------------------------------------------------------------ messages

  post(r: ReactorWorker, m: ToReactor, transfer: ArrayBuffer[] = []): void {
    r.worker.postMessage(m, transfer);
  }

  /** @internal A forwarded command completed on the main thread. */
  respond(c: RemoteConn, req: TransportRequest<number>): void {
    if (c.closed) return;
    const data = req.dataDir === DataDir.C2H && req.status === 0 && req.transferLen > 0 && req.data !== null ? req.data.slice(0, req.transferLen) : null;
    const cqe = req.cqe.slice();
    const core = c.core;
    const transfer = [cqe.buffer as ArrayBuffer];
    if (data !== null) transfer.push(data.buffer as ArrayBuffer);
    this.post(c.reactor, { t: 'resp', conn: c.id, slot: req.owner, cqe, status: req.status, data, q: { qid: core.qid, size: core.size, sqfc: core.sqFlowControlDisabled } }, transfer);
  }

  private onMessage(r: ReactorWorker, m: FromReactor): void {
    switch (m.t) {
      case 'cmd':
        this.onCommand(m.conn, m.slot, m.sqe, m.data);
        return;
      case 'release': {
        const c = this.conns.get(m.conn);
        if (c !== undefined && c.held[m.slot] === true) {
          c.held[m.slot] = false;
          c.reqs[m.slot]!.release();
        }
        return;
      }
      case 'close': {
        const c = this.conns.get(m.conn);
        if (c === undefined) return;
        this.conns.delete(m.conn);
        r.conns.delete(c);
        c.gone();
        return;
      }
      case 'view': {
        const c = this.conns.get(m.conn);
        if (c !== undefined) this.post(r, { t: 'view', conn: m.conn, view: this.viewOf(c) });
        return;
      }
      case 'stats':
        this.merge(m.stats);
        if (m.flush !== null) {
          const w = this.flushWaits.get(m.flush);
          if (w !== undefined && --w.left === 0) w.done();
        }
        return;
      case 'log':
        this.opts.logger[m.level](m.msg);
        return;
      case 'ready':
        return;
    }
  }

  private onCommand(conn: number, slot: number, sqe: Uint8Array, data: Uint8Array | null): void {
    const c = this.conns.get(conn);
    if (c === undefined || c.closed) return;
    let req = c.reqs[slot];
    if (req === undefined) {
      req = c.core.allocRequest(slot);
      c.reqs[slot] = req;
    }
    if (c.held[slot] === true) {
      this.opts.logger.error(`reactor connection ${conn}: slot ${slot} forwarded again before its release`);
      return;
    }
    c.held[slot] = true;
    if (!req.init(sqe)) return;
    if (req.dataDir === DataDir.H2C && req.transferLen > 0) {
      // The reactor staged what the SGL described; the core's parse has checked that against the command.
      if (data === null || data.length !== req.transferLen) {
        req.completeWithStatus(NvmeStatus.SglInvalidDataLength | STATUS_DNR);
        return;
      }
      req.allocData();
      req.data!.set(data);
    }
    req.execute();
  }

  /** What a reactor may run for this connection, as of now. */
  private viewOf(c: RemoteConn): ConnView {
    const epoch = stateEpoch();
    const core = c.core;
    const ctrl = core instanceof CoreQueueImpl ? core.ctrl : null;
    if (
      !(core instanceof CoreQueueImpl) ||
      ctrl === null ||
      !core.isLive() ||
      core.qid <= 0 ||
      ctrl.isDiscovery ||
      !ctrl.isReady() ||
      !(core.authenticated || ctrl.dhchap === null) ||
      this.faultsArmed()
    ) {
      return { epoch, ok: false, mdts: 0, ns: [] };
    }
    const ns: NsView[] = [];
    for (const n of ctrl.subsys.enabledNamespaces()) {
      if (n.pr !== null || anaIoStatus(ctrl.port.ana.state(n.anaGrpid)) !== null) continue;
      const b = n.backend;
      if (!(b instanceof DeviceBackend) || b.placement.p2pmem !== false) continue;
      const media = b.sharedMedia;
      if (media === null) continue;
      ns.push({ nsid: n.nsid, key: this.keyOf(n), shift: n.blockShift, nsze: n.nsze, owner: b.owner, chunk: b.chunkBytes, media: media.handle() });
    }
    return { epoch, ok: true, mdts: ctrl.mdtsBytes(), ns };
  }

  /** Injected faults act in the main thread's core and transport: nothing runs locally while a rule could fire. */
  private faultsArmed(): boolean {
    const h = this.opts.nvmet.faultHook;
    return h !== null && (h.armed?.() ?? true);
  }

  private keyOf(n: Namespace): number {
    let k = this.nsKeys.get(n);
    if (k === undefined) {
      k = this.nextNsKey++;
      this.nsKeys.set(n, k);
      this.nsByKey.set(k, new WeakRef(n));
    }
    return k;
  }

  /** Fold a reactor's report into the main thread's counters. */
  private merge(s: ReactorStats): void {
    for (const n of s.ns) {
      const ns = this.nsByKey.get(n.key)?.deref();
      if (ns === undefined) continue;
      const st = ns.stats;
      st.readCommands += n.readCommands;
      st.bytesRead += n.bytesRead;
      st.writeCommands += n.writeCommands;
      st.bytesWritten += n.bytesWritten;
    }
    if (this.opts.accounting !== null && s.dma.length !== 0) replayDmaRecords(this.opts.accounting, s.dma);
    const obs = this.opts.nvmet.ioObserver;
    if (obs !== null && obs.mergeIo !== undefined) for (const o of s.io) obs.mergeIo(o.op, o.commands, o.bytes, o.counts, o.slow);
    for (const id of s.traffic) {
      const core = this.conns.get(id)?.core;
      if (core instanceof CoreQueueImpl) core.ctrl?.noteTraffic();
    }
    this.localCommands += s.local;
    this.forwardedCommands += s.forwarded;
  }

  /** Every reactor's counters are in (namespace stats, DMA accounting, metrics) when this resolves. */
  flush(): Promise<void> {
    const live = this.reactors.filter((r) => r.worker.threadId !== -1);
    if (live.length === 0) return Promise.resolve();
    const id = this.nextFlush++;
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.flushWaits.delete(id);
        reject(new Error(`reactors did not report within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.flushWaits.set(id, {
        left: live.length,
        done: () => {
          clearTimeout(t);
          this.flushWaits.delete(id);
          resolve();
        },
      });
      for (const r of live) this.post(r, { t: 'flush', id });
    });
  }

  private exited(r: ReactorWorker, code: number): void {
    if (!this.closing) this.opts.logger.error(`reactor ${r.index} exited (code ${code}): its ${r.conns.size} connection(s) are gone`);
    for (const c of r.conns) {
      this.conns.delete(c.id);
      c.gone();
    }
    r.conns.clear();
    for (const w of this.flushWaits.values()) if (--w.left === 0) w.done();
  }

  /** Drop every reactor connection and stop the threads. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.unmirror();
    clearInterval(this.observeTimer);
    this.opts.nvmet.faultRulesBlocked = null;
    for (const r of this.reactors) this.post(r, { t: 'stop' });
    // Their sockets close with the threads; a thread that does not stop is not waited for past the timeout.
    await Promise.all(
      this.reactors.map((r) => {
        let t: NodeJS.Timeout | undefined;
        const late = new Promise<void>((res) => (t = setTimeout(res, this.timeoutMs)));
        return Promise.race([r.worker.terminate(), late]).finally(() => clearTimeout(t));
      }),
    );
    for (const c of [...this.conns.values()]) c.gone();
    this.conns.clear();
  }
}

function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing else owns it
  }
}
