/**
 * A host's association with one NVMe-oF controller over NVMe/TCP: the admin
 * queue plus N I/O queues, each its own TCP connection (Linux `nvme_tcp_ctrl`).
 *
 * The bring-up, keep-alive, AEN, shutdown and typed commands are the
 * transport-agnostic `HostController`'s; this class opens NVMe/TCP queues
 * (ICReq/ICResp), sizes their in-capsule data from IOCCSZ, and offers the raw
 * `submit()` escape hatch, which returns the completion whatever its status.
 */
import { SQE_SIZE } from '../src/nvme/sqe.js';
import { CATTR_DISABLE_SQ_FLOW, DISCOVERY_NQN } from '../src/nvme/fabrics.js';
import { HostQueue } from './host-queue.js';
import type { Completion, HostCommand, HostTls } from './host-queue.js';
import { TransportError } from './errors.js';
import { formatPskIdentity, hostPskIdentity, parseTlsPsk, pskCipher, tlsPsk } from '../src/nvme/tls/psk.js';
import { HostController } from './host-controller.js';
import type { IoOptions as BaseIoOptions } from './host-controller.js';
import type { QueueCommand } from './fabrics-queue.js';
import { ADMIN_INCAPSULE_MAX, DEFAULT_KATO_MS } from './options.js';
import type { ConnectOptions } from './options.js';

export type { LogPageOptions, GetFeaturesOptions, SetFeaturesOptions, DsmRange, NamespaceGeometry } from './host-controller.js';

/** Options of a raw `submit()`. */
export interface SubmitOptions {
  /** Host → controller data. */
  dataOut?: Uint8Array;
  /** Controller → host: a destination buffer, or a byte count to allocate. */
  dataIn?: Uint8Array | number;
  /** Force a transport SGL + R2T even when the data fits in the capsule. */
  forceR2T?: boolean;
  /** Leave the SQE's PSDT/DPTR exactly as given. */
  rawDptr?: boolean;
  timeoutMs?: number;
}

/** Completion of a raw `submit()`, plus the received data (if any). */
export interface RawCompletion extends Completion {
  data: Uint8Array | null;
}

/** Per-call options of the I/O helpers. */
export interface IoOptions extends BaseIoOptions {
  /** Writes: force transport SGL + R2T/H2CData even when small enough for in-capsule. */
  forceR2T?: boolean;
}

/** Transport options with the TLS PSK and identity derived from `opts.tlsKey` (src/nvme/tls/psk.ts). */
function withTls(opts: ConnectOptions, hostnqn: string): ConnectOptions & { tls?: HostTls } {
  if (opts.tlsKey === undefined) return opts;
  const configured = parseTlsPsk(opts.tlsKey);
  if (pskCipher(configured) !== 1) {
    throw new TransportError('connect', 'TLS PSKs for TLS_AES_256_GCM_SHA384 (hash 02 / 48-byte keys) are not supported; use a 32-byte key');
  }
  const id = hostPskIdentity(configured, hostnqn, opts.subnqn, opts.tlsIdentityVersion ?? 0);
  return { ...opts, tls: { identity: formatPskIdentity(id), key: tlsPsk(configured, id) } };
}

export class Controller extends HostController<HostQueue, Completion, IoOptions> {
  readonly host: string;
  readonly port: number;

  private constructor(private readonly opts: ConnectOptions) {
    super(opts, {
      kato: opts.kato ?? (opts.subnqn === DISCOVERY_NQN ? 0 : DEFAULT_KATO_MS),
      cattr: opts.disableSqFlow === true ? CATTR_DISABLE_SQ_FLOW : 0,
      connectTimeoutMs: opts.connectTimeoutMs ?? 5000,
    });
    this.host = opts.host;
    this.port = opts.port;
  }

  /** Connect to `opts.subnqn` and bring the controller up (see HostController). */
  static async connect(opts: ConnectOptions): Promise<Controller> {
    const c = new Controller(opts);
    await c.start();
    return c;
  }

  protected async openQueue(qid: number): Promise<HostQueue> {
    const q = await HostQueue.open(withTls(this.opts, this.hostnqn));
    if (qid === 0) {
      q.inCapsuleMax = ADMIN_INCAPSULE_MAX;
    } else {
      const ioccsz = this.identity?.ioccsz ?? 4;
      const icdoff = this.identity?.icdoff ?? 0;
      q.inCapsuleMax = icdoff === 0 ? Math.max(0, ioccsz * 16 - SQE_SIZE) : 0;
    }
    return q;
  }

  protected ioCommand(cmd: QueueCommand, write: boolean, o: IoOptions | undefined): QueueCommand {
    if (!write) return cmd;
    const c: HostCommand = { ...cmd, forceR2T: o?.forceR2T === true };
    return c;
  }

  /**
   * Send an arbitrary SQE on queue `qid` and return the completion whatever its
   * status (transport failures and timeouts still reject). The CID is overwritten.
   */
  async submit(qid: number, sqe: Uint8Array, opts: SubmitOptions = {}): Promise<RawCompletion> {
    if (sqe.length < SQE_SIZE) throw new RangeError(`SQE must be ${SQE_SIZE} bytes, got ${sqe.length}`);
    const dataIn = typeof opts.dataIn === 'number' ? new Uint8Array(opts.dataIn) : (opts.dataIn ?? null);
    const cmd: HostCommand = { sqe, dataOut: opts.dataOut ?? null, dataIn };
    if (opts.forceR2T !== undefined) cmd.forceR2T = opts.forceR2T;
    if (opts.rawDptr !== undefined) cmd.rawDptr = opts.rawDptr;
    if (opts.timeoutMs !== undefined) cmd.timeoutMs = opts.timeoutMs;
    const c = await this.queue(qid).submit(cmd);
    return { ...c, data: dataIn };
  }
}
