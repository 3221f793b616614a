/**
 * Limits and defaults of the target core, with the values Linux nvmet uses
 * (drivers/nvme/target/nvmet.h) unless noted.
 */

/** Entries per I/O queue the controller supports (CAP.MQES + 1). */
export const NVMET_QUEUE_SIZE = 1024;
/** I/O queues per controller (subsystem max_qid). */
export const NVMET_NR_QUEUES = 128;
/** Asynchronous Event Request commands held per controller (Identify AERL + 1). */
export const NVMET_ASYNC_EVENTS = 4;
/** Error Information log entries kept per controller (Identify ELPE + 1). */
export const NVMET_ERROR_LOG_SLOTS = 128;
/** Highest nsid a subsystem accepts (Identify NN). */
export const NVMET_MAX_NAMESPACES = 1024;
/** Keep-alive a discovery controller gets when the host asks for none (stale sessions still die). */
export const NVMET_DISC_KATO_MS = 120_000;
/** Admin queue depth advertised in discovery log entries (ASQSZ). */
export const NVME_AQ_DEPTH = 32;
/** Entries in the Changed Namespace List log; one more change turns it into "too many" (0xffffffff). */
export const NVME_MAX_CHANGED_NAMESPACES = 1024;
/** Keep Alive Support granularity reported in Identify KAS, in 100 ms units (we time KATO in ms). */
export const NVMET_KAS = 1;
/** Lowest cntlid handed out (0 is reserved by the spec). */
export const NVME_CNTLID_MIN = 1;
/** Highest cntlid handed out (0xfff0..0xffff are reserved). */
export const NVME_CNTLID_MAX = 0xffef;
/** Version register default: NVMe 1.4. */
export const NVMET_DEFAULT_VS = 0x0001_0400;
/** Model number default (Identify MN). */
export const NVMET_DEFAULT_MODEL = 'nvmet-ts';
/** Firmware revision default (Identify FR, 8 ASCII characters at most). */
export const NVMET_DEFAULT_FIRMWARE = '0.1.0';
/** Admin transfers are bounded even when the transport has no MDTS: the logs we serve are small. */
export const NVMET_MAX_ADMIN_TRANSFER = 1 << 20;
/** Default in-capsule data size of a port (Linux nvmet-tcp default: 4 pages). */
export const NVMET_DEFAULT_INLINE_DATA_SIZE = 16384;

/** Bits of the Asynchronous Event Configuration feature / Identify OAES. */
export const AenCfg = {
  /** SMART critical warning bits 7:0 (spare, temperature, reliability, read-only, volatile backup). */
  SmartMask: 0xff,
  NsAttr: 1 << 8,
  FwAct: 1 << 9,
  AnaChange: 1 << 11,
  DiscChange: 1 << 31,
} as const;
/** Bit numbers used for the per-controller "event outstanding, masked until the log is read" state. */
export const AenBit = {
  NsAttr: 8,
  AnaChange: 11,
  DiscChange: 31,
} as const;

/** AEN configuration an I/O controller starts with and may be set to (Linux: NS_ATTR | ANA_CHANGE). */
export const NVMET_AEN_CFG_OPTIONAL = AenCfg.NsAttr | AenCfg.AnaChange;
export const NVMET_AEN_CFG_ALL = (0x1f | NVMET_AEN_CFG_OPTIONAL) >>> 0;
/** AEN configuration a discovery controller may be set to. */
export const NVMET_DISC_AEN_CFG_OPTIONAL = AenCfg.DiscChange >>> 0;
