/**
 * A reactor: one worker thread with its own event loop, serving the NVMe/TCP
 * connections the main thread hands it (target/reactor/pool.ts). It runs the same
 * transport code as the main thread (target/tcp/queue.ts) over a ReactorQueue, runs
 * Read/Write on shared media itself and forwards every other command to the main
 * thread's core. Counters (namespace stats, DMA accounting, I/O latency, keep-alive
 * traffic) are kept here and reported every `statsMs` and on request.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { Socket } from 'node:net';
import type { Logger } from '../core/log.js';
import type { TransportQueue } from '../core/fabrics-ops.js';
import { TcpQueue, type TcpPortRef } from '../tcp/queue.js';
import { mergeLimits, resolveTcpOptions, type ResolvedTcpOptions } from '../tcp/options.js';
import { StagingBudget } from '../tcp/budget.js';
import { DmaRecorder } from '../../src/copy/dma-recorder.js';
import { LatencyBuckets } from '../../src/stats/latency-buckets.js';
import { BufferPool } from './buffer-pool.js';
import { ReactorQueue, type ReactorContext } from './reactor-queue.js';
import type { FromReactor, IoCounts, NsCounts, ReactorPort, ReactorStats, ToReactor } from './protocol.js';

/** What the pool starts a reactor with (workerData). */
export interface ReactorInit {
  readonly index: number;
  readonly epoch: SharedArrayBuffer;
  readonly maxTransfer: number;
  /** This reactor's share of the transport's staging budget (bytes). */
  readonly stagingBudget: number;
  readonly stagingReserve: number;
  readonly r2tBudget: number;
  /** Free staging buffers kept for reuse, bytes. */
  readonly bufferCap: number;
  readonly statsMs: number;
}

/** Where the first read of a connection lands before its queue exists (consumed inside the callback). */
const FIRST_READ = Buffer.allocUnsafeSlow(4096);
const SWEEP_MIN_MS = 10;
const SWEEP_MAX_MS = 1000;

interface Conn {
  readonly tcp: TcpQueue;
  readonly rq: ReactorQueue;
}

class OpCounter {
  commands = 0;
  bytes = 0;
  readonly lat = new LatencyBuckets();
}

class NsCounter {
  readCommands = 0;
  bytesRead = 0;
  writeCommands = 0;
  bytesWritten = 0;
  constructor(readonly key: number) {}
}

class Reactor implements ReactorContext {
  readonly epoch: Int32Array;
  readonly maxTransfer: number;
  readonly buffers: BufferPool;
  readonly dma = new DmaRecorder();
  private readonly conns = new Map<number, Conn>();
  private readonly opts: ResolvedTcpOptions;
  private readonly budget: StagingBudget;
  private readonly nsCounters = new Map<number, NsCounter>();
  private lastNs: NsCounter | null = null;
  private readonly reads = new OpCounter();
  private readonly writes = new OpCounter();
  private traffic: ReactorQueue[] = [];
  private local = 0;
  private forwarded = 0;
  private sweepMs = SWEEP_MAX_MS;
  private sweep: NodeJS.Timeout | null = null;
  private readonly logger: Logger;

  constructor(private readonly init: ReactorInit) {
    this.epoch = new Int32Array(init.epoch);
    this.maxTransfer = init.maxTransfer;
    this.buffers = new BufferPool(init.bufferCap);
    this.logger = {
      debug: (m) => this.log('debug', m),
      info: (m) => this.log('info', m),
      warn: (m) => this.log('warn', m),
      error: (m) => this.log('error', m),
    };
    this.opts = resolveTcpOptions({
      logger: this.logger,
      maxDataTransferSize: init.maxTransfer,
      stagingBudget: init.stagingBudget,
      stagingReserve: init.stagingReserve,
      r2tBudget: init.r2tBudget,
    });
    this.budget = new StagingBudget(this.opts.stagingBudget, this.opts.stagingReserve, Math.min(this.opts.r2tBudget, this.opts.stagingBudget), this.logger);
    const t = setInterval(() => this.report(null), init.statsMs);
    t.unref();
  }

  // ------------------------------------------------------------ ReactorContext

  get observing(): boolean {
    return Atomics.load(this.epoch, 1) === 1;
  }

  countRead(key: number, bytes: number): void {
    const c = this.nsCounter(key);
    c.readCommands++;
    c.bytesRead += bytes;
    this.local++;
  }

  countWrite(key: number, bytes: number): void {
    const c = this.nsCounter(key);
    c.writeCommands++;
    c.bytesWritten += bytes;
    this.local++;
  }

  private nsCounter(key: number): NsCounter {
    const l = this.lastNs;
    if (l !== null && l.key === key) return l;
    let c = this.nsCounters.get(key);
    if (c === undefined) {
      c = new NsCounter(key);
      this.nsCounters.set(key, c);
    }
    this.lastNs = c;
    return c;
  }

  observe(read: boolean, bytes: number, ms: number): void {
    const o = read ? this.reads : this.writes;
    o.commands++;
    o.bytes += bytes;
    o.lat.record(ms * 1e6);
  }

  noteTraffic(q: ReactorQueue): void {
    this.traffic.push(q);
  }

  noteForwarded(): void {
    this.forwarded++;
  }

  post(msg: FromReactor, transfer: ArrayBuffer[] = []): void {
    parentPort!.postMessage(msg, transfer);
  }

  log(level: 'error' | 'warn' | 'info' | 'debug', msg: string): void {
    this.post({ t: 'log', level, msg: `reactor ${this.init.index}: ${msg}` });
  }

  // ------------------------------------------------------------ messages

  onMessage(m: ToReactor): void {
    switch (m.t) {
      case 'conn':
        this.adopt(m.conn, m.fd, m.port);
        return;
      case 'resp':
        this.conns.get(m.conn)?.rq.answered(m.slot, m.q, m.cqe, m.status, m.data);
        return;
      case 'disconnect':
        this.conns.get(m.conn)?.tcp.disconnect(m.reason);
        return;
      case 'view':
        this.conns.get(m.conn)?.rq.installView(m.view);
        return;
      case 'flush':
        this.report(m.id);
        return;
      case 'stop':
        for (const c of this.conns.values()) c.tcp.disconnect('target shutting down');
        return;
    }
  }

  /** A connection the main thread accepted: wrap its descriptor and serve it like the main thread would. */
  private adopt(conn: number, fd: number, port: ReactorPort): void {
    let q: TcpQueue | null = null;
    let socket: Socket;
    try {
      socket = new Socket({
        fd,
        readable: true,
        writable: true,
        onread: {
          buffer: () => q?.readBuffer() ?? FIRST_READ,
          callback: (n: number, buf: Uint8Array): boolean => {
            q?.onRead(n, buf);
            return true;
          },
        },
      } as ConstructorParameters<typeof Socket>[0]);
    } catch (e) {
      this.log('error', `connection ${conn}: cannot wrap descriptor ${fd}: ${String(e)}`);
      this.post({ t: 'close', conn });
      return;
    }
    const limits = mergeLimits(this.opts.limits, port.limits);
    const ref: TcpPortRef = { portId: port.portId, inlineDataSize: port.inlineDataSize, limits, budget: this.budget };
    let rq: ReactorQueue | null = null;
    const factory = {
      createQueue: (tq: TransportQueue): ReactorQueue => {
        rq = new ReactorQueue(this, conn, tq, port.nic, port.nicKind);
        return rq;
      },
    };
    q = new TcpQueue(socket, ref, factory, this.opts, () => this.conns.delete(conn), true);
    if (rq === null) {
      // The queue refused to start (it closed itself); the main side still holds the connection.
      this.post({ t: 'close', conn });
      return;
    }
    this.conns.set(conn, { tcp: q, rq });
    const every = Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, Math.floor(Math.min(limits.icreqTimeoutMs, limits.connectTimeoutMs, limits.pduTimeoutMs) / 4)));
    if (this.sweep === null || every < this.sweepMs) {
      if (this.sweep !== null) clearInterval(this.sweep);
      this.sweepMs = every;
      this.sweep = setInterval(() => {
        const now = performance.now();
        for (const c of this.conns.values()) c.tcp.checkTimers(now);
      }, every);
      this.sweep.unref();
    }
  }

  /** Post what was counted since the last report (nothing when idle, unless asked). */
  private report(flush: number | null): void {
    const ns: NsCounts[] = [];
    for (const c of this.nsCounters.values()) {
      if (c.readCommands === 0 && c.writeCommands === 0) continue;
      ns.push({ key: c.key, readCommands: c.readCommands, bytesRead: c.bytesRead, writeCommands: c.writeCommands, bytesWritten: c.bytesWritten });
      c.readCommands = c.bytesRead = c.writeCommands = c.bytesWritten = 0;
    }
    const io: IoCounts[] = [];
    for (const [op, o] of [['read', this.reads], ['write', this.writes]] as const) {
      if (o.commands === 0) continue;
      const d = o.lat.drain();
      io.push({ op, commands: o.commands, bytes: o.bytes, counts: d.counts, slow: d.slow });
      o.commands = o.bytes = 0;
    }
    const traffic = this.traffic.map((q) => q.conn);
    for (const q of this.traffic) q.traffic = false;
    this.traffic = [];
    const dma = this.dma.drain();
    if (flush === null && ns.length === 0 && io.length === 0 && traffic.length === 0 && dma.length === 0 && this.local === 0 && this.forwarded === 0) return;
    const stats: ReactorStats = { ns, dma, io, traffic, local: this.local, forwarded: this.forwarded };
    this.local = 0;
    this.forwarded = 0;
    this.post({ t: 'stats', stats, flush });
  }
}

const reactor = new Reactor(workerData as ReactorInit);
parentPort!.on('message', (m: ToReactor) => reactor.onMessage(m));
reactor.post({ t: 'ready' });
