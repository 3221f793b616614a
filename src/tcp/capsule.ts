/**
 * Command and response capsules.
 *   CapsuleCmd:  8..71 the 64-byte SQE, then optional in-capsule data at PDO (HLEN 72)
 *   CapsuleResp: 8..23 the 16-byte CQE (HLEN 24, never data)
 */

import { CQE_LEN, Hlen, PduType, SQE_LEN } from './constants.js';
import { finishHeader } from './header.js';

/** Offset of the SQE inside a CapsuleCmd header. */
export const CAPSULE_SQE_OFFSET = 8;
/** Offset of the CQE inside a CapsuleResp header. */
export const CAPSULE_CQE_OFFSET = 8;

/**
 * Encode a CapsuleCmd header carrying `sqe` (64 bytes at sqe[sqeOff]) and announcing
 * `dataLen` bytes of in-capsule data. `pda` is the controller's CPDA. Returns the
 * bytes written (through HDGST and pad, i.e. PDO when there is data).
 */
export function encodeCapsuleCmd(
  b: Uint8Array,
  o: number,
  sqe: Uint8Array,
  sqeOff: number,
  dataLen: number,
  hdgst: boolean,
  ddgst: boolean,
  pda: number,
): number {
  b.set(sqe.subarray(sqeOff, sqeOff + SQE_LEN), o + CAPSULE_SQE_OFFSET);
  return finishHeader(b, o, PduType.CapsuleCmd, 0, Hlen.CapsuleCmd, dataLen, hdgst, ddgst, pda);
}

/** Encode a CapsuleResp carrying `cqe` (16 bytes at cqe[cqeOff]). Returns 24 or 28. */
export function encodeCapsuleResp(b: Uint8Array, o: number, cqe: Uint8Array, cqeOff: number, hdgst: boolean): number {
  for (let i = 0; i < CQE_LEN; i++) b[o + CAPSULE_CQE_OFFSET + i] = cqe[cqeOff + i]!;
  return finishHeader(b, o, PduType.CapsuleResp, 0, Hlen.CapsuleResp, 0, hdgst, false, 0);
}
