/**
 * The host side of DH-HMAC-CHAP on one queue, as Linux drivers/nvme/host/auth.c runs it
 * (nvme_queue_auth_work): Negotiate → receive Challenge → Reply (with C2 and S2 when a
 * controller key is set) → receive Success1 (check R2) → Success2. A failure the host
 * detects is reported to the controller with AUTH_Failure2.
 *
 * Pure message-in / message-out; the initiator moves the buffers with Authentication
 * Send/Receive.
 */

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ctrlResponse, DhExchange, hostResponse } from './dhchap.js';
import { nextSeqnum } from './controller-session.js';
import { AUTH_HASHES, AuthFailure, AuthMsgId, AuthType, DH_GROUPS, authHashById, dhGroupById, type AuthHash } from './ids.js';
import {
  decodeAuthHeader,
  decodeChallenge,
  decodeFailure,
  decodeSuccess1,
  encodeFailure,
  encodeNegotiate,
  encodeReply,
  encodeSuccess2,
} from './messages.js';
import { transformDhchapKey, type DhchapKey } from './secret.js';

export interface DhchapHostConfig {
  hostnqn: string;
  subnqn: string;
  hostKey: DhchapKey;
  /** Set for bidirectional authentication. */
  ctrlKey?: DhchapKey | undefined;
  /** Offered hash ids, most preferred first (default: SHA-256, SHA-384, SHA-512 like Linux). */
  hashIds?: readonly number[];
  /** Offered DH group ids (default: all, null first, like Linux). */
  dhGroupIds?: readonly number[];
}

/** Authentication ended in failure. `sentByController`: an AUTH_Failure1 came back. */
export class DhchapAuthError extends Error {
  constructor(
    readonly rescodeExp: number,
    readonly sentByController: boolean,
    message: string,
  ) {
    super(message);
    this.name = 'DhchapAuthError';
  }
}

export class DhchapHostSession {
  private hash: AuthHash | undefined;
  private c2: Uint8Array | undefined;
  private s2 = 0;
  private sessionKey: Uint8Array | undefined;
  /** Chosen by the controller, for reporting. */
  dhGroupId = 0;
  hashId = 0;

  constructor(
    private readonly cfg: DhchapHostConfig,
    readonly tid: number,
  ) {}

  negotiate(): Uint8Array {
    return encodeNegotiate({
      tid: this.tid,
      hashIds: this.cfg.hashIds ?? AUTH_HASHES.map((h) => h.id),
      dhGroupIds: this.cfg.dhGroupIds ?? DH_GROUPS.map((g) => g.id),
    });
  }

  private checkFailure1(b: Uint8Array, expected: number): void {
    const h = decodeAuthHeader(b);
    if (h.authType === AuthType.Common && h.authId === AuthMsgId.Failure1) {
      const f = decodeFailure(b);
      throw new DhchapAuthError(f.rescodeExp, true, `controller sent AUTH_Failure1 (reason ${f.rescode}, explanation ${f.rescodeExp})`);
    }
    if (h.authType !== AuthType.Dhchap || h.authId !== expected) {
      throw new DhchapAuthError(AuthFailure.IncorrectMessage, false, `unexpected auth message ${h.authType}/${h.authId}`);
    }
    if (h.tid !== this.tid) throw new DhchapAuthError(AuthFailure.IncorrectMessage, false, `unexpected transaction id ${h.tid}`);
  }

  /** DH-HMAC-CHAP_Challenge in, DH-HMAC-CHAP_Reply out. */
  reply(challengeMsg: Uint8Array): Uint8Array {
    this.checkFailure1(challengeMsg, AuthMsgId.Challenge);
    const c = decodeChallenge(challengeMsg);
    const hash = authHashById(c.hashId);
    const offered = this.cfg.hashIds ?? AUTH_HASHES.map((h) => h.id);
    if (!hash || !offered.includes(hash.id)) throw new DhchapAuthError(AuthFailure.HashUnusable, false, `controller chose hash ${c.hashId}`);
    if (c.challenge.length !== hash.len) throw new DhchapAuthError(AuthFailure.IncorrectPayload, false, 'challenge length does not match the hash');
    const group = dhGroupById(c.dhGroupId);
    const offeredGroups = this.cfg.dhGroupIds ?? DH_GROUPS.map((g) => g.id);
    if (!group || !offeredGroups.includes(group.id)) throw new DhchapAuthError(AuthFailure.DhgroupUnusable, false, `controller chose DH group ${c.dhGroupId}`);
    this.hash = hash;
    this.hashId = hash.id;
    this.dhGroupId = group.id;
    let dhValue: Uint8Array = new Uint8Array(0);
    if (group.bits) {
      if (c.dhValue.length !== group.bits / 8) throw new DhchapAuthError(AuthFailure.IncorrectPayload, false, 'DH value length does not match the group');
      const dh = new DhExchange(group);
      try {
        this.sessionKey = dh.sessionKey(c.dhValue);
      } catch (e) {
        throw new DhchapAuthError(AuthFailure.DhgroupUnusable, false, (e as Error).message);
      }
      dhValue = dh.publicValue;
    } else if (c.dhValue.length) {
      throw new DhchapAuthError(AuthFailure.IncorrectPayload, false, 'DH value with the null group');
    }
    const response = hostResponse({
      hash,
      key: transformDhchapKey(this.cfg.hostKey, this.cfg.hostnqn),
      challenge: c.challenge,
      sessionKey: this.sessionKey,
      seqnum: c.seqnum,
      tid: this.tid,
      hostnqn: this.cfg.hostnqn,
      subnqn: this.cfg.subnqn,
    });
    if (this.cfg.ctrlKey) {
      this.c2 = new Uint8Array(randomBytes(hash.len));
      this.s2 = nextSeqnum();
    }
    return encodeReply({ tid: this.tid, response, challenge: this.c2, seqnum: this.s2, dhValue });
  }

  /**
   * DH-HMAC-CHAP_Success1 in; returns the Success2 to send (bidirectional) or undefined.
   * A wrong controller response throws with `failure2()` ready to be sent.
   */
  success1(msg: Uint8Array): Uint8Array | undefined {
    this.checkFailure1(msg, AuthMsgId.Success1);
    const s = decodeSuccess1(msg);
    if (!this.c2) return undefined;
    const hash = this.hash!;
    if (!s.response || s.hl !== hash.len) throw new DhchapAuthError(AuthFailure.Failed, false, 'controller did not authenticate itself');
    const expect = ctrlResponse({
      hash,
      key: transformDhchapKey(this.cfg.ctrlKey!, this.cfg.subnqn),
      challenge: this.c2,
      sessionKey: this.sessionKey,
      seqnum: this.s2,
      tid: this.tid,
      hostnqn: this.cfg.hostnqn,
      subnqn: this.cfg.subnqn,
    });
    if (!timingSafeEqual(expect, s.response)) throw new DhchapAuthError(AuthFailure.Failed, false, 'controller response mismatch');
    return encodeSuccess2(this.tid);
  }

  failure2(rescodeExp: number): Uint8Array {
    return encodeFailure(AuthMsgId.Failure2, this.tid, rescodeExp);
  }
}
