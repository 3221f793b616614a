/**
 * The seam between the NVMe target core and its transports, modelled on Linux
 * `struct nvmet_fabrics_ops` (drivers/nvme/target/nvmet.h).
 *
 * Rules of the seam:
 *  - A transport never interprets commands: it owns one request per command slot
 *    (`CoreQueue.allocRequest`, once), hands each 64-byte SQE to the core
 *    (`req.init(sqe)`), moves the data the request asks for, calls
 *    `req.execute()`, and sends whatever the core completes via `queueResponse`.
 *  - The core never touches a socket: it only calls the methods below.
 *
 * This file is a contract shared by the core (target/core, target/admin, target/io,
 * ...) and every transport (target/tcp, target/rdma). Change it only with both sides.
 */

/** Transport types as in the Discovery Log Page TRTYPE field. */
export const enum TrType {
  RDMA = 1,
  FC = 2,
  TCP = 3,
  LOOP = 254,
}

/** Direction of a command's data transfer, from the host's point of view. */
export const enum DataDir {
  None = 0,
  /** host → controller (Write, Connect data, Set Features with data, ...) */
  H2C = 1,
  /** controller → host (Read, Identify, Get Log Page, ...) */
  C2H = 2,
}

/**
 * What the core exposes of one request to the transport. The transport owns the
 * request object (one per command slot, like Linux `struct nvmet_tcp_cmd`
 * embedding its `struct nvmet_req`) and its lifetime on the wire; the core owns
 * its meaning. `owner` leads back from the request to the transport command, so
 * `queueResponse` needs no lookup.
 */
/**
 * Transport-level faults the fault engine (target/fault/) asks of one response,
 * as bits of `TransportRequest.wireFault`. The transport applies them to the PDUs
 * it sends without knowing why; a transport that cannot (no such PDU, digest not
 * negotiated) sends the response unchanged.
 */
export const WireFault = {
  /** Corrupt the header digest of the response's last PDU (CapsuleResp, or C2HData with SUCCESS). */
  HeaderDigest: 1,
  /** Corrupt the data digest of the first C2HData PDU. */
  DataDigest: 2,
  /** Drop the connection instead of sending the response. */
  DropConnection: 4,
  // Decided when the capsule arrives (right after `init`), parameters in `wireFaultParams`:
  /** Answer the capsule with a fatal-error TermReq (fes, fei) and close; the command never runs. */
  TermReq: 8,
  /** Send the C2H data in PDUs of `c2hPduSize` bytes. */
  SplitC2HData: 16,
  /** Send the first R2T `ms` late. */
  DelayR2T: 32,
  /** Never send the R2T (the core holds the request: only Abort or a disconnect ends it). */
  WithholdR2T: 64,
  /** Close the connection where the (`pdus`+1)-th PDU after the capsule would be sent. */
  DropAfterC2H: 128,
  /** Close the connection where the (`pdus`+1)-th PDU after the capsule would be handled. */
  DropAfterH2C: 256,
  /** Stop reading the connection for `ms`. */
  PauseReading: 512,
} as const;

/** Parameters of the arrival-time WireFault bits (one fault per command, so one set). */
export interface WireFaultParams {
  readonly fes: number;
  readonly fei: number;
  readonly c2hPduSize: number;
  readonly ms: number;
  readonly pdus: number;
}

export interface TransportRequest<Owner = unknown> {
  /** The transport command this request is embedded in, as given to `CoreQueue.allocRequest`. */
  readonly owner: Owner;
  /** WireFault bits for this response (0 = none; set by the fault engine before completion). */
  readonly wireFault: number;
  /** Parameters of the arrival-time bits of `wireFault` (null when none is set). */
  readonly wireFaultParams: WireFaultParams | null;
  /**
   * nvmet_req_init: copy the 64-byte SQE (the transport may reuse its memory on
   * return) and parse it into what the command moves and runs. Returns false when
   * the command was refused: it is then already completed with an error status
   * (`queueResponse` was called from inside this call). The request must be free:
   * never initialized, or released since. Never throws for bad commands. The SQE is
   * the 64 bytes at `offset` of `sqe` (a transport passes its receive buffer as is).
   */
  init(sqe: Uint8Array, offset?: number): boolean;
  /** 64-byte submission queue entry (a view: the transport may reuse the memory after complete). */
  readonly sqe: Uint8Array;
  readonly cid: number;
  readonly dataDir: DataDir;
  /** Bytes the command transfers (0 for none), computed by the core from the command itself. */
  readonly transferLen: number;
  /**
   * Staging buffer for the data, `transferLen` bytes, allocated by `allocData()`.
   * For H2C the transport fills it before `execute()`; for C2H the core fills it
   * and the transport sends it before the completion.
   */
  readonly data: Uint8Array | null;
  /**
   * Allocate the staging buffer (system memory or p2pmem, the core decides).
   * Needed before filling H2C data; `execute()` allocates it itself when still missing.
   */
  allocData(): void;
  /**
   * Run the command. Completion arrives via `TransportQueue.queueResponse`, possibly
   * synchronously from inside this call (or much later: a held Asynchronous Event Request).
   */
  execute(): void;
  /**
   * Complete the request with a status without executing it (transport-detected
   * errors such as an SGL the transport cannot map). Calls queueResponse.
   */
  completeWithStatus(status: number): void;
  /**
   * Optional for transports to call: `bytes` of data just moved between the wire
   * and `data` (H2C received into it, C2H handed to the wire from it). This copy is
   * the NIC's DMA in the PCIe model, which accounts it. `digest`: the transport also
   * computes a data digest over these bytes in software (NVMe/TCP DDGST). Transports whose data
   * movement is itself a modelled DMA (the simulated RDMA transport) do not call it.
   */
  dataMoved?(bytes: number, digest?: boolean): void;
  /**
   * Optional for transports to call: this request will be executed shortly, together
   * with others that arrived in the same read (the core may start fetching what it
   * reads, so the batch's memory accesses overlap). A hint: no effect on results.
   */
  prefetch?(): void;
  /** 16-byte completion queue entry, valid in queueResponse. */
  readonly cqe: Uint8Array;
  /** NVMe status (SCT << 8 | SC, DNR as bit 14, MORE bit 13) of the completion; 0 = success. */
  readonly status: number;
  /**
   * The transport is done with this request (response fully written, or the
   * connection died): the core frees the staging buffer (p2pmem must never leak)
   * the request is free for the slot's next `init`. Called exactly once per
   * `init`, also for requests still executing when the connection died (the core
   * then frees the buffer when the command finishes and sends nothing; such a
   * request is not initialized again). Nothing but `init` may be called after
   * release(); release() may be called from inside queueResponse.
   */
  release(): void;
}

/** One submission/completion queue pair as the transport sees it (an NVMe/TCP connection, an RDMA QP). */
export interface TransportQueue<Owner = unknown> {
  /** Send the response for `req` (its `owner` is the transport command): for C2H data first the data, then the CQE (or C2HData with SUCCESS). */
  queueResponse(req: TransportRequest<Owner>): void;
  /** Drop the connection (controller teardown, keep-alive timeout, fatal error). Idempotent. */
  disconnect(reason: string): void;
  /** Printable peer address for logs, e.g. "127.0.0.1:53122". */
  readonly peer: string;
  /**
   * Local address the connection arrived on (e.g. "192.168.1.5"), reported in the
   * discovery log instead of a wildcard port address (Linux .disc_traddr). Optional.
   */
  readonly localAddr?: string;
}

/** What the core tells a transport about a port when it is enabled. */
export interface PortInfo {
  readonly portId: number;
  readonly traddr: string;
  readonly trsvcid: string;
  /** In-capsule data size for I/O queues, bytes (Linux port param inline_data_size). */
  readonly inlineDataSize: number;
  /** Resource limits and timeouts from the port's `param` (unset = the transport's defaults). */
  readonly limits?: PortLimits;
  /** NVMe/TCP TLS (TSAS SECTYPE tls1.3): set when the port runs TLS before ICReq. */
  readonly tls?: TlsPortPolicy;
}

/**
 * Per-port resource limits and timeouts (nvmet-ts port `param` keys; Linux has
 * none of these as port attributes). Each transport applies the ones it has.
 */
export interface PortLimits {
  /** param icreq_timeout_ms: a connection must complete ICReq within this. */
  readonly icreqTimeoutMs?: number;
  /** param connect_timeout_ms: after ICResp, a queue must complete Connect within this. */
  readonly connectTimeoutMs?: number;
  /** param pdu_timeout_ms: a PDU whose first byte arrived must complete within this. */
  readonly pduTimeoutMs?: number;
  /** param max_connections: concurrent connections on the port; more are refused. */
  readonly maxConnections?: number;
  /** param queue_data_limit: bytes of read data / responses a queue may hold unsent before it stops reading commands. */
  readonly queueDataLimit?: number;
  /** param queue_r2t_limit: bytes a queue may hold in buffers waiting for R2T'd write data. */
  readonly queueR2tLimit?: number;
}

/** A TLS port's requirement and PSK lookup (target/tcp/tls-accept.ts runs the handshake). */
export interface TlsPortPolicy {
  /** TREQ "required" (true) or "not required" (false). */
  readonly required: boolean;
  /** The TLS PSK for the identity a host presents, or why it is refused. */
  psk(identity: string): { key: Uint8Array } | { why: string };
}

/**
 * What a transport provides to the core (struct nvmet_fabrics_ops).
 */
export interface FabricsOps {
  readonly trtype: TrType;
  /** Start accepting connections for a port; resolves once listening (with the bound port number). */
  addPort(port: PortInfo, core: CoreQueueFactory): Promise<{ trsvcid: string }>;
  /** Stop accepting and disconnect every queue of the port. */
  removePort(portId: number): Promise<void>;
  /** Largest data transfer per command this transport supports, bytes (0 = unlimited). */
  maxTransferSize(): number;
}

/** Handed to transports by the core: creates the core side of a queue for a new connection. */
export interface CoreQueueFactory {
  createQueue(transportQueue: TransportQueue): CoreQueue;
}

/** The core side of one queue (Linux nvmet_sq/nvmet_cq). */
export interface CoreQueue {
  /**
   * A request for one transport command slot, allocated once per slot (not per
   * command) and reused through `init`/`release` for as long as the queue lives.
   */
  allocRequest<Owner>(owner: Owner): TransportRequest<Owner>;
  /**
   * Connection lost: detach from the controller (losing the admin queue ends the
   * association). Nothing is sent on the queue afterwards; the transport still
   * releases every request it got. Idempotent; also safe after the core itself
   * asked for `TransportQueue.disconnect`.
   */
  destroy(): void;
  /** Queue id once Connect succeeded (0 = admin queue), -1 before. */
  readonly qid: number;
  /** Queue size (SQSIZE + 1, 1's based) the host negotiated at Connect, 0 before. */
  readonly size: number;
  /** True when the host disabled SQ flow control at Connect (CATTR bit 2): C2HData may carry SUCCESS. */
  readonly sqFlowControlDisabled: boolean;
}
