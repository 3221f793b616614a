/**
 * NVMe/TCP PDU constants (NVMe/TCP Transport Specification 1.0, "PDU Header Format"
 * and "Terminate Connection Request"). Numeric values are the wire values.
 */

/** PDU types (common header byte 0). Even types flow host→controller, odd controller→host. */
export const PduType = {
  ICReq: 0x00,
  ICResp: 0x01,
  H2CTermReq: 0x02,
  C2HTermReq: 0x03,
  CapsuleCmd: 0x04,
  CapsuleResp: 0x05,
  H2CData: 0x06,
  C2HData: 0x07,
  R2T: 0x09,
} as const;
export type PduType = (typeof PduType)[keyof typeof PduType];

/** Common header FLAGS bits. LAST_PDU and SUCCESS only mean something on data PDUs. */
export const PduFlags = {
  HDGSTF: 0x01,
  DDGSTF: 0x02,
  LAST_PDU: 0x04,
  /** C2HData only: the command completed successfully, no CapsuleResp follows. */
  SUCCESS: 0x08,
} as const;

/** Fixed header lengths (HLEN) per PDU type. */
export const Hlen = {
  ICReq: 128,
  ICResp: 128,
  TermReq: 24,
  CapsuleCmd: 72,
  CapsuleResp: 24,
  Data: 24,
  R2T: 24,
} as const;

/** Common header size: type, flags, hlen, pdo, plen. */
export const CH_LEN = 8;
export const DIGEST_LEN = 4;
export const SQE_LEN = 64;
export const CQE_LEN = 16;
/** Longest header the framer ever holds: ICReq/ICResp (digests never apply to them). */
export const MAX_HLEN = 128;
/** Offending-header bytes a TermReq may carry (plen 24..152). */
export const TERM_REQ_MAX_ERROR_DATA = 128;
export const TERM_REQ_MAX_PLEN = Hlen.TermReq + TERM_REQ_MAX_ERROR_DATA;

/** ICReq/ICResp DGST field bits. */
export const DigestFlags = {
  HDGST_ENABLE: 0x01,
  DDGST_ENABLE: 0x02,
} as const;

/** PDU Format Version 1.0. */
export const PFV_1_0 = 0;
/** Largest HPDA/CPDA value (alignment (pda + 1) * 4 = 128 bytes). */
export const MAX_PDA = 31;

/** Terminate Connection Request Fatal Error Status. */
export const Fes = {
  InvalidHeaderField: 0x01,
  PduSequenceError: 0x02,
  HeaderDigestError: 0x03,
  DataOutOfRange: 0x04,
  DataLimitExceeded: 0x05,
  UnsupportedParameter: 0x06,
} as const;
export type Fes = (typeof Fes)[keyof typeof Fes];

/** Byte offsets of common-header fields, used as TermReq FEI for Invalid Header Field. */
export const ChOffset = {
  type: 0,
  flags: 1,
  hlen: 2,
  pdo: 3,
  plen: 4,
} as const;

/** Byte offsets inside specific PDU headers (also FEI values). */
export const FieldOffset = {
  icPfv: 8,
  icPda: 10,
  icDigest: 11,
  icMaxr2tOrMaxdata: 12,
  termFes: 8,
  termFei: 10,
  dataCccid: 8,
  dataTtag: 10,
  dataDatao: 12,
  dataDatal: 16,
} as const;
