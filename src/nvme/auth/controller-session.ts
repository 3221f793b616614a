/**
 * The controller side of DH-HMAC-CHAP on one queue: an explicit state machine with the
 * steps, checks and failure codes of Linux nvmet_execute_auth_send() /
 * nvmet_execute_auth_receive() (drivers/nvme/target/fabrics-cmd-auth.c).
 *
 *   step Negotiate --send Negotiate--> Challenge --receive--> Reply --send Reply--> Success1
 *   Success1 --receive--> Success2 (bidirectional: wait for the host's Success2) or done
 *   any error --> Failure1 (next receive returns AUTH_Failure1, then the controller is fatal)
 *   host AUTH_Failure2 / unexpected message --> Failure2 (fatal)
 *
 * Pure apart from randomness and node:crypto; the target wires it to Authentication
 * Send/Receive and to a timer (the transaction timeout, see `expire`).
 */

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ctrlResponse, DhExchange, DhValueError, hostResponse } from './dhchap.js';
import {
  AuthFailure,
  AuthMsgId,
  AuthSecp,
  AuthType,
  DHCHAP_AUTH_ID,
  DHCHAP_MAX_DH_IDS,
  DHCHAP_MAX_HASH_IDS,
  authHashById,
  dhGroupById,
  type AuthHash,
  type DhGroup,
} from './ids.js';
import {
  AuthMessageError,
  decodeAuthHeader,
  decodeFailure,
  decodeNegotiate,
  decodeReply,
  encodeChallenge,
  encodeFailure,
  encodeSuccess1,
  NEGOTIATE_HEADER_LEN,
  PROTOCOL_DESCRIPTOR_LEN,
  REPLY_HEADER_LEN,
  SUCCESS1_HEADER_LEN,
  FAILURE_LEN,
} from './messages.js';
import { transformDhchapKey, type DhchapKey } from './secret.js';

/** A host's DH-HMAC-CHAP settings (configfs hosts/<nqn>/dhchap_{key,ctrl_key,hash,dhgroup}). */
export interface DhchapHostSettings {
  hostKey: DhchapKey;
  ctrlKey?: DhchapKey | undefined;
  hash: AuthHash;
  dhGroup: DhGroup;
}

/** What the controller authenticates one host with, for one subsystem. */
export interface DhchapCtrlConfig extends DhchapHostSettings {
  hostnqn: string;
  subnqn: string;
}

let seqnum = 0;

/** nvme_auth_get_seqnum(): a random start, then +1 per challenge, skipping 0. */
export function nextSeqnum(): number {
  if (seqnum === 0) seqnum = randomBytes(4).readUInt32LE(0) || 1;
  else {
    seqnum = (seqnum + 1) >>> 0;
    if (seqnum === 0) seqnum = 1;
  }
  return seqnum;
}

/** Outcome of one Authentication Send or Receive for the target glue. */
export interface AuthStepResult {
  /** The controller must be torn down (nvmet_ctrl_fatal_error). */
  fatal: boolean;
  /** The transaction is still open: (re)arm the transaction timer. */
  armTimer: boolean;
}

export type DhchapStep = AuthMsgId;

export class DhchapCtrlSession {
  step: DhchapStep = AuthMsgId.Negotiate;
  /** Set once the host's response checked out (and, bidirectional, the host sent Success2). */
  authenticated = false;
  /** RESCODE_EXP of the last failure (0 = none). */
  status = 0;
  /** What went wrong, for the log (no secret material). */
  detail = '';
  /** The negotiated hash (the configured one, or the host's first usable as Linux falls back). */
  hash: AuthHash;
  private tid = -1;
  private c1: Uint8Array | undefined;
  private c2: Uint8Array | undefined;
  private s1 = 0;
  private s2 = 0;
  private dh: DhExchange | undefined;
  private sessionKey: Uint8Array | undefined;

  private cfg: DhchapCtrlConfig;

  constructor(
    /** The host's current DH-HMAC-CHAP configuration; read at each AUTH_Negotiate. */
    private readonly loadConfig: () => DhchapCtrlConfig,
    /** Queue id, for messages only. */
    readonly qid: number,
  ) {
    this.cfg = loadConfig();
    this.hash = this.cfg.hash;
  }

  /** Authentication transaction timeout (nvmet_auth_expired_work): back to Negotiate. */
  expire(): void {
    this.step = AuthMsgId.Negotiate;
    this.tid = -1;
    this.clear();
  }

  private clear(): void {
    this.c1 = undefined;
    this.c2 = undefined;
    this.sessionKey = undefined;
    this.dh = undefined;
  }

  private fail1(code: number): void {
    this.step = AuthMsgId.Failure1;
    this.status = code;
  }

  /** Authentication Send payload (tl bytes). */
  send(d: Uint8Array): AuthStepResult {
    let hdr;
    try {
      hdr = decodeAuthHeader(d);
    } catch {
      return this.failure2(AuthFailure.IncorrectMessage);
    }
    this.detail = `message ${hdr.authType}/0x${hdr.authId.toString(16)} in step 0x${this.step.toString(16)}`;
    if (hdr.authType !== AuthType.Common && hdr.authType !== AuthType.Dhchap) return this.failure2(AuthFailure.IncorrectMessage);
    if (hdr.authType === AuthType.Common) {
      if (hdr.authId === AuthMsgId.Negotiate) {
        // A Negotiate in any state restarts the transaction (re-authentication). Like
        // Linux, the queue stays authenticated meanwhile (I/O continues during a host's
        // periodic re-authentication); a failure clears it. The configuration is read
        // again here, so a changed key applies from the next transaction on.
        this.clear();
        this.cfg = this.loadConfig();
        this.hash = this.cfg.hash;
        this.step = AuthMsgId.Negotiate;
      } else if (hdr.authId !== this.step) {
        return this.failure2(AuthFailure.IncorrectMessage);
      }
      const st = this.negotiate(d);
      if (st === 0) this.step = AuthMsgId.Challenge;
      else this.fail1(st);
      return { fatal: false, armTimer: true };
    }
    if (hdr.authId !== this.step) return this.failure2(AuthFailure.IncorrectMessage);
    if (hdr.tid !== this.tid) {
      this.fail1(AuthFailure.IncorrectPayload);
      return { fatal: false, armTimer: true };
    }
    switch (hdr.authId) {
      case AuthMsgId.Reply: {
        const st = this.reply(d);
        if (st === 0) this.step = AuthMsgId.Success1;
        else this.fail1(st);
        return { fatal: false, armTimer: true };
      }
      case AuthMsgId.Success2:
        this.authenticated = true;
        this.clear();
        return { fatal: false, armTimer: false };
      case AuthMsgId.Failure2: {
        // Reached only when step === Failure2 (the id check above); kept for parity.
        try {
          const f = decodeFailure(d);
          if (f.rescodeExp) {
            this.status = f.rescodeExp;
            this.authenticated = false;
          }
        } catch {
          /* short Failure2: nothing to record */
        }
        this.clear();
        return { fatal: true, armTimer: false };
      }
      default:
        return this.failure2(AuthFailure.IncorrectMessage);
    }
  }

  private failure2(code: number): AuthStepResult {
    this.status = code;
    this.step = AuthMsgId.Failure2;
    this.authenticated = false;
    this.clear();
    return { fatal: true, armTimer: false };
  }

  /** nvmet_auth_negotiate(); returns 0 or a RESCODE_EXP. */
  private negotiate(d: Uint8Array): number {
    if (d.length < NEGOTIATE_HEADER_LEN + PROTOCOL_DESCRIPTOR_LEN) return AuthFailure.IncorrectPayload;
    const n = decodeNegotiate(d);
    this.tid = n.tid;
    // Secure channel concatenation (TLS PSK generation) is not implemented: the kernel
    // answers CONCAT_MISMATCH when it cannot do it, and so do we.
    if (n.scC !== AuthSecp.NoSc) return AuthFailure.ConcatMismatch;
    if (n.napd !== 1) return AuthFailure.HashUnusable;
    if (n.authId !== DHCHAP_AUTH_ID) return AuthFailure.IncorrectPayload;
    if (n.hashIds.length > DHCHAP_MAX_HASH_IDS || n.dhGroupIds.length > DHCHAP_MAX_DH_IDS) return AuthFailure.IncorrectPayload;
    let chosen: AuthHash | undefined;
    let fallback: AuthHash | undefined;
    for (const id of n.hashIds) {
      const h = authHashById(id);
      if (!fallback && h) fallback = h;
      if (id === this.cfg.hash.id) {
        chosen = this.cfg.hash;
        break;
      }
    }
    if (!chosen) {
      if (!fallback) return AuthFailure.HashUnusable;
      chosen = fallback;
    }
    this.hash = chosen;
    // The configured DH group must be among the host's: choosing another one would be a
    // silent downgrade (Linux keeps the configured group whatever the host lists).
    if (!n.dhGroupIds.includes(this.cfg.dhGroup.id) || !dhGroupById(this.cfg.dhGroup.id)) return AuthFailure.DhgroupUnusable;
    return 0;
  }

  /** nvmet_auth_reply(); returns 0 or a RESCODE_EXP. */
  private reply(d: Uint8Array): number {
    if (d.length < REPLY_HEADER_LEN) return AuthFailure.IncorrectPayload;
    let r;
    try {
      r = decodeReply(d);
    } catch (e) {
      if (e instanceof AuthMessageError) return AuthFailure.IncorrectPayload;
      throw e;
    }
    if (r.response.length !== this.hash.len || !this.c1) return AuthFailure.IncorrectPayload;
    if (r.dhValue.length) {
      if (!this.dh) return AuthFailure.IncorrectPayload;
      try {
        this.sessionKey = this.dh.sessionKey(r.dhValue);
      } catch (e) {
        if (e instanceof DhValueError || e instanceof Error) return AuthFailure.DhgroupUnusable;
        throw e;
      }
    } else if (this.dh) {
      // A DH group was chosen but the host sent no DH value.
      return AuthFailure.IncorrectPayload;
    }
    const expect = hostResponse({
      hash: this.hash,
      key: transformDhchapKey(this.cfg.hostKey, this.cfg.hostnqn),
      challenge: this.c1,
      sessionKey: this.sessionKey,
      seqnum: this.s1,
      tid: this.tid,
      hostnqn: this.cfg.hostnqn,
      subnqn: this.cfg.subnqn,
    });
    if (!timingSafeEqual(expect, r.response)) return AuthFailure.Failed;
    this.s2 = r.seqnum;
    if (r.challenge) this.c2 = r.challenge;
    // SEQNUM 0 means "no bidirectional authentication" even if a C2 is carried.
    if (this.s2 === 0) {
      this.authenticated = true;
      this.c2 = undefined;
    } else if (!r.challenge) {
      this.authenticated = true;
    }
    return 0;
  }

  /**
   * Authentication Receive with allocation length `al`: the payload to return (zero-padded
   * to `al` by the caller). `undefined` when `al` is too small for the message, which the
   * caller turns into Invalid Field (nvmet_auth_receive_data_len returning 0).
   */
  receive(al: number): { data: Uint8Array; result: AuthStepResult } | undefined {
    switch (this.step) {
      case AuthMsgId.Challenge: {
        const hl = this.hash.len;
        const dhLen = this.cfg.dhGroup.bits / 8;
        if (al < 16 + hl + dhLen) return undefined;
        this.s1 = nextSeqnum();
        this.c1 = new Uint8Array(randomBytes(hl));
        this.dh = this.cfg.dhGroup.bits ? new DhExchange(this.cfg.dhGroup) : undefined;
        this.sessionKey = undefined;
        const data = encodeChallenge({
          tid: this.tid,
          hashId: this.hash.id,
          dhGroupId: this.dh ? this.cfg.dhGroup.id : 0,
          seqnum: this.s1,
          challenge: this.c1,
          dhValue: this.dh ? this.dh.publicValue : new Uint8Array(0),
        });
        this.step = AuthMsgId.Reply;
        return { data, result: { fatal: false, armTimer: true } };
      }
      case AuthMsgId.Success1: {
        if (al < SUCCESS1_HEADER_LEN + (this.c2 ? this.hash.len : 0)) return undefined;
        let response: Uint8Array | undefined;
        if (this.c2) {
          if (!this.cfg.ctrlKey) {
            // Host asked for bidirectional authentication; no controller key configured.
            this.authenticated = false;
            this.fail1(AuthFailure.Failed);
            return this.failure1Result();
          }
          response = ctrlResponse({
            hash: this.hash,
            key: transformDhchapKey(this.cfg.ctrlKey, this.cfg.subnqn),
            challenge: this.c2,
            sessionKey: this.sessionKey,
            seqnum: this.s2,
            tid: this.tid,
            hostnqn: this.cfg.hostnqn,
            subnqn: this.cfg.subnqn,
          });
        }
        const data = encodeSuccess1({ tid: this.tid, hl: this.hash.len, response });
        // Unidirectional: done. Bidirectional: the host's Success2 completes it.
        this.step = AuthMsgId.Success2;
        const done = this.authenticated;
        if (done) this.clear();
        return { data, result: { fatal: false, armTimer: !done } };
      }
      case AuthMsgId.Failure1:
        if (al < FAILURE_LEN) return undefined;
        this.authenticated = false;
        return this.failure1Result();
      default:
        if (al < FAILURE_LEN) return undefined;
        this.fail1(AuthFailure.Failed);
        this.authenticated = false;
        return this.failure1Result();
    }
  }

  private failure1Result(): { data: Uint8Array; result: AuthStepResult } {
    const data = encodeFailure(AuthMsgId.Failure1, this.tid, this.status);
    this.clear();
    return { data, result: { fatal: true, armTimer: false } };
  }
}
