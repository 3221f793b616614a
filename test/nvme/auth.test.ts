/**
 * DH-HMAC-CHAP pure layer. Vectors: the secrets are real ones (the NVMe spec's example
 * secret quoted in the kernel's "allow any key" patch, and keys printed by
 * `nvme gen-dhchap-key`); the response/transform vectors were computed with Python's
 * hmac/hashlib from the formulas of drivers/nvme/target/auth.c (nvmet_auth_host_hash,
 * nvmet_auth_ctrl_hash) and drivers/nvme/common/auth.c (nvme_auth_transform_key,
 * nvme_auth_augmented_challenge), independently of this implementation.
 */
import { describe, expect, it } from 'vitest';
import {
  AUTH_HASHES,
  AuthFailure,
  AuthMsgId,
  AuthType,
  DH_GROUPS,
  DhExchange,
  DhchapCtrlSession,
  DhchapHostSession,
  DhchapAuthError,
  DhchapSecretError,
  augmentedChallenge,
  authHashById,
  authHashByName,
  ctrlResponse,
  decodeAuthHeader,
  decodeChallenge,
  decodeFailure,
  decodeNegotiate,
  decodeReply,
  decodeSuccess1,
  dhGroupByName,
  encodeChallenge,
  encodeFailure,
  encodeNegotiate,
  encodeReply,
  encodeSuccess1,
  encodeSuccess2,
  formatDhchapSecret,
  hostResponse,
  parseDhchapSecret,
  transformDhchapKey,
  type DhchapCtrlConfig,
} from '../../src/nvme/auth/index.js';
import { FFDHE_PRIME_HEX } from '../../src/nvme/auth/ffdhe.js';
import { hex, toHex } from './hex.js';

const SPEC_SECRET = 'DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:';
const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:0f0e0d0c-0b0a-0908-0706-050403020100';
const SUBNQN = 'nqn.2024-01.io.nvmet-ts:auth-vector';
const seq = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe('DHHC-1 secrets (nvme_auth_extract_key)', () => {
  it.each([
    [SPEC_SECRET, 0, 32],
    ['DHHC-1:01:C7XNT6VDFTFfbGtrSimOlLFg7BAdH+UwUgkLTuSA5gcd+7/H:', 1, 32],
    ['DHHC-1:02:Hi9ha9idssh3FgURRbfMUvOY7NlHiApDCmHhmIRCdhdlNQwebHEt/7DHoag3SmCHFvei/Q==:', 2, 48],
    ['DHHC-1:00:RbgmpCGRaCwY1m4SexVxhf7tsJCXuAg77iH0Z18Ys25TgI/K', 0, 32],
  ])('parses %s', (s, hash, len) => {
    const k = parseDhchapSecret(s);
    expect(k.hash).toBe(hash);
    expect(k.key.length).toBe(len);
    expect(parseDhchapSecret(formatDhchapSecret(k))).toEqual(k);
  });

  it('round-trips 64-byte keys with NN 03', () => {
    const k = { hash: 3 as const, key: seq(64) };
    const s = formatDhchapSecret(k);
    expect(s).toMatch(/^DHHC-1:03:[A-Za-z0-9+/]{91}=:$/);
    expect(parseDhchapSecret(s)).toEqual(k);
  });

  it.each([
    ['DHHC-2:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:', 'format'],
    ['DHHC-1:04:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:', 'hash'],
    ['DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2m:', 'crc'],
    ['DHHC-1:00:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:', 'length'],
    ['DHHC-1:00:not base64!:', 'format'],
  ])('refuses %s (%s)', (s, problem) => {
    try {
      parseDhchapSecret(s);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DhchapSecretError);
      expect((e as DhchapSecretError).problem).toBe(problem);
      expect((e as Error).message).not.toContain('ia6zGod');
    }
  });
});

describe('key transformation (nvme_auth_transform_key)', () => {
  const key = parseDhchapSecret(SPEC_SECRET).key;
  it.each([
    [1, 'bc105402882c8dda20d4fdafcbe1176965b975e7c5024a8477f9d0a6584c680c'],
    [2, 'cff133cbbf2e896ac3d862fad85003b190aae37af1620623ae8514e355b77b6c4a39bee879f81942670f4c8f7496dec9'],
    [3, '90c294c902ff89fa16e3b01a9297c3c9fa1aef6cabadbc21099dc5c5debb2709070a44a6c212d931fabfb0b019ef305efce620eb030a7941b9861cff9096baff'],
  ] as const)('NN=0%d', (nn, want) => {
    expect(toHex(transformDhchapKey({ hash: nn, key }, HOSTNQN))).toBe(want);
  });
  it('NN=00 uses the key as is', () => {
    expect(transformDhchapKey({ hash: 0, key }, HOSTNQN)).toEqual(key);
  });
});

describe('responses', () => {
  const sha256 = authHashById(1)!;
  const key = parseDhchapSecret(SPEC_SECRET).key;
  it('host response, SHA-256, null group, NN=01 key', () => {
    const r = hostResponse({
      hash: sha256,
      key: transformDhchapKey({ hash: 1, key }, HOSTNQN),
      challenge: seq(32),
      seqnum: 0x01020304,
      tid: 0x0102,
      hostnqn: HOSTNQN,
      subnqn: SUBNQN,
    });
    expect(toHex(r)).toBe('b7d40ae9e2e99568b929bc1bd4a19034507e45bd781f1f07bac733e016087112');
  });
  it('controller response, SHA-256, null group, NN=00 key', () => {
    const r = ctrlResponse({ hash: sha256, key, challenge: seq(32, 32), seqnum: 0xa0b0c0d0, tid: 0x0102, hostnqn: HOSTNQN, subnqn: SUBNQN });
    expect(toHex(r)).toBe('ee70ca7209d747a858de39892d72d9c9033b0c36ce470a03ad7f929a779358b4');
  });
  it('augmented challenge, SHA-384', () => {
    const sk = Uint8Array.from({ length: 256 }, (_, i) => i & 0xff);
    expect(toHex(augmentedChallenge(authHashById(2)!, sk, seq(48)))).toBe(
      '7d06b9fb00d1289f1e5dc4ca04a56d90777e613b48c79d735005966c9aa6bd4a0103e443ed03c0a47f7fc3fc432e8181',
    );
  });
  it('host response, SHA-512, with a session key', () => {
    const sk = Uint8Array.from({ length: 384 }, (_, i) => (i * 7) & 0xff);
    const r = hostResponse({ hash: authHashById(3)!, key: seq(64), challenge: seq(64, 100), sessionKey: sk, seqnum: 7, tid: 3, hostnqn: HOSTNQN, subnqn: SUBNQN });
    expect(toHex(r)).toBe(
      '2bfb3679412ab0b6d6267207f718deace66ae67471114bc0f5d1ecce4ec28de941582661d9b4dac47a628080ab0c38ed5aef1eaa0bad09cf494073419e583049',
    );
  });
});

describe('DH groups', () => {
  it('names and ids as configfs writes them', () => {
    expect(DH_GROUPS.map((g) => [g.id, g.name])).toEqual([
      [0, 'null'], [1, 'ffdhe2048'], [2, 'ffdhe3072'], [3, 'ffdhe4096'], [4, 'ffdhe6144'], [5, 'ffdhe8192'],
    ]);
    expect(AUTH_HASHES.map((h) => [h.id, h.hmac, h.len])).toEqual([[1, 'hmac(sha256)', 32], [2, 'hmac(sha384)', 48], [3, 'hmac(sha512)', 64]]);
    expect(authHashByName('hmac(sha1)')).toBeUndefined();
  });
  it.each(['ffdhe2048', 'ffdhe3072', 'ffdhe4096', 'ffdhe6144', 'ffdhe8192'])('%s: both sides derive the same padded session key', (name) => {
    const g = dhGroupByName(name)!;
    const a = new DhExchange(g);
    const b = new DhExchange(g);
    expect(a.publicValue.length).toBe(g.bits / 8);
    const ka = a.sessionKey(b.publicValue);
    expect(ka.length).toBe(g.bits / 8);
    expect(toHex(ka)).toBe(toHex(b.sessionKey(a.publicValue)));
  });
  it('refuses y = 1, y = p - 1 and a wrong length', () => {
    const g = dhGroupByName('ffdhe2048')!;
    const a = new DhExchange(g);
    const one = new Uint8Array(256);
    one[255] = 1;
    expect(() => a.sessionKey(one)).toThrow(/outside/);
    const pm1 = Buffer.from((BigInt('0x' + FFDHE_PRIME_HEX[2048]) - 1n).toString(16), 'hex');
    expect(() => a.sessionKey(pm1)).toThrow(/outside/);
    expect(() => a.sessionKey(new Uint8Array(255).fill(7))).toThrow(/bytes/);
  });
});

describe('message codecs (struct nvmf_auth_dhchap_*_data)', () => {
  it('AUTH_Negotiate bytes', () => {
    const b = encodeNegotiate({ tid: 0x0201, hashIds: [1, 2, 3], dhGroupIds: [0, 1, 2, 3, 4, 5] });
    expect(b.length).toBe(72);
    expect(toHex(b.subarray(0, 16))).toBe('0000000001020001' + '0100030601020300');
    expect(toHex(b.subarray(42, 48))).toBe('000102030405');
    const n = decodeNegotiate(b);
    expect(n).toEqual({ tid: 0x0201, scC: 0, napd: 1, authId: 1, hashIds: [1, 2, 3], dhGroupIds: [0, 1, 2, 3, 4, 5] });
  });
  it('Challenge / Reply / Success1 / Success2 / Failure round trips and layout', () => {
    const ch = encodeChallenge({ tid: 5, hashId: 1, dhGroupId: 1, seqnum: 0x11223344, challenge: seq(32), dhValue: seq(256, 9) });
    expect(toHex(ch.subarray(0, 16))).toBe('0101000005002000' + '0101' + '0001' + '44332211');
    expect(decodeChallenge(ch).dhValue).toEqual(seq(256, 9));
    const rp = encodeReply({ tid: 5, response: seq(32, 1), challenge: seq(32, 2), seqnum: 9, dhValue: seq(256, 3) });
    expect(toHex(rp.subarray(0, 16))).toBe('0102000005002000' + '0100' + '0001' + '09000000');
    const r = decodeReply(rp);
    expect([r.response, r.challenge, r.seqnum, r.dhValue.length]).toEqual([seq(32, 1), seq(32, 2), 9, 256]);
    const s1 = encodeSuccess1({ tid: 5, hl: 32, response: seq(32) });
    expect(toHex(s1.subarray(0, 16))).toBe('0103000005002000' + '0100000000000000');
    expect(decodeSuccess1(s1).response).toEqual(seq(32));
    expect(decodeSuccess1(encodeSuccess1({ tid: 5, hl: 32 })).response).toBeUndefined();
    expect(toHex(encodeSuccess2(5))).toBe('01040000050000000000000000000000');
    const f1 = encodeFailure(AuthMsgId.Failure1, 5, AuthFailure.Failed);
    expect(toHex(f1)).toBe('00f1000005000101');
    expect(decodeFailure(f1)).toEqual({ tid: 5, rescode: 1, rescodeExp: 1 });
    expect(decodeAuthHeader(encodeFailure(AuthMsgId.Failure2, 5, 7))).toEqual({ authType: AuthType.Common, authId: 0xf0, tid: 5 });
  });
  it('a Reply whose HL/DHVLEN overrun the payload is refused', () => {
    const rp = encodeReply({ tid: 5, response: seq(32), seqnum: 0, dhValue: new Uint8Array(0) });
    rp[10] = 0xff;
    expect(() => decodeReply(rp)).toThrow(/need/);
  });
});

// ---------------------------------------------------------------- sessions end to end

const hostKey = parseDhchapSecret(formatDhchapSecret({ hash: 1, key: seq(32, 40) }));
const ctrlKey = parseDhchapSecret(formatDhchapSecret({ hash: 2, key: seq(48, 80) }));

function ctrlCfg(over: Partial<DhchapCtrlConfig> = {}): DhchapCtrlConfig {
  return { hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey, hash: authHashByName('hmac(sha256)')!, dhGroup: dhGroupByName('null')!, ...over };
}

function run(ctrl: DhchapCtrlSession, host: DhchapHostSession): { ok: boolean; failure?: number; fatal: boolean } {
  let res = ctrl.send(host.negotiate());
  const ch = ctrl.receive(4096)!;
  let reply: Uint8Array;
  try {
    reply = host.reply(ch.data);
  } catch (e) {
    return { ok: false, failure: (e as DhchapAuthError).rescodeExp, fatal: ch.result.fatal };
  }
  res = ctrl.send(reply);
  const s1 = ctrl.receive(4096)!;
  let s2: Uint8Array | undefined;
  try {
    s2 = host.success1(s1.data);
  } catch (e) {
    const err = e as DhchapAuthError;
    if (!err.sentByController) {
      res = ctrl.send(host.failure2(err.rescodeExp));
      return { ok: false, failure: err.rescodeExp, fatal: res.fatal };
    }
    return { ok: false, failure: err.rescodeExp, fatal: s1.result.fatal };
  }
  if (s2) res = ctrl.send(s2);
  return { ok: ctrl.authenticated, fatal: res.fatal };
}

describe('controller and host sessions', () => {
  for (const hash of ['hmac(sha256)', 'hmac(sha384)', 'hmac(sha512)']) {
    for (const group of ['null', 'ffdhe2048', 'ffdhe3072']) {
      for (const bidi of [false, true]) {
        it(`${hash} ${group} ${bidi ? 'bidirectional' : 'unidirectional'}`, () => {
          const cfg = ctrlCfg({ hash: authHashByName(hash)!, dhGroup: dhGroupByName(group)!, ctrlKey: bidi ? ctrlKey : undefined });
          const ctrl = new DhchapCtrlSession(() => cfg, 0);
          const host = new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey, ctrlKey: bidi ? ctrlKey : undefined }, 1);
          expect(run(ctrl, host)).toEqual({ ok: true, fatal: false });
          expect(host.hashId).toBe(authHashByName(hash)!.id);
          expect(host.dhGroupId).toBe(dhGroupByName(group)!.id);
        });
      }
    }
  }

  it('wrong host key: AUTH_Failure1 with "authentication failed"', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg(), 0);
    const wrong = { hash: 1 as const, key: seq(32, 41) };
    const host = new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey: wrong }, 1);
    expect(run(ctrl, host)).toEqual({ ok: false, failure: AuthFailure.Failed, fatal: true });
    expect(ctrl.authenticated).toBe(false);
  });

  it('wrong controller key: the host sends AUTH_Failure2 and the controller is fatal', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg({ ctrlKey }), 0);
    const host = new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey, ctrlKey: { hash: 0, key: seq(32) } }, 1);
    const r = run(ctrl, host);
    expect(r.ok).toBe(false);
    expect(r.failure).toBe(AuthFailure.Failed);
    expect(r.fatal).toBe(true);
    expect(ctrl.authenticated).toBe(false);
  });

  it('host asks for bidirectional without a controller key configured: Failure1', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg(), 0);
    const host = new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey, ctrlKey }, 1);
    expect(run(ctrl, host)).toEqual({ ok: false, failure: AuthFailure.Failed, fatal: true });
  });

  it('configured DH group not offered by the host: DH group unusable', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg({ dhGroup: dhGroupByName('ffdhe4096')! }), 0);
    const host = new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey, dhGroupIds: [0, 1] }, 1);
    expect(run(ctrl, host)).toMatchObject({ ok: false, failure: AuthFailure.DhgroupUnusable });
  });

  it('no usable hash: hash unusable; configured hash not offered: falls back like Linux', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg(), 0);
    expect(run(ctrl, new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey, hashIds: [9] }, 1))).toMatchObject({
      failure: AuthFailure.HashUnusable,
    });
    const ctrl2 = new DhchapCtrlSession(() => ctrlCfg(), 0);
    const host2 = new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey, hashIds: [3] }, 1);
    expect(run(ctrl2, host2)).toEqual({ ok: true, fatal: false });
    expect(host2.hashId).toBe(3);
  });

  it('secure channel concatenation requested: concat mismatch', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg(), 0);
    const neg = encodeNegotiate({ tid: 1, scC: 2, hashIds: [1], dhGroupIds: [0] });
    ctrl.send(neg);
    const f = ctrl.receive(64)!;
    expect(decodeFailure(f.data).rescodeExp).toBe(AuthFailure.ConcatMismatch);
    expect(f.result.fatal).toBe(true);
  });

  it('out-of-order message: Failure2 state, fatal', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg(), 0);
    const r = ctrl.send(encodeSuccess2(1));
    expect(r.fatal).toBe(true);
    expect(ctrl.status).toBe(AuthFailure.IncorrectMessage);
  });

  it('wrong transaction id in the Reply: incorrect payload', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg(), 0);
    const host = new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey }, 1);
    ctrl.send(host.negotiate());
    const reply = host.reply(ctrl.receive(4096)!.data);
    reply[4] = 9;
    ctrl.send(reply);
    expect(decodeFailure(ctrl.receive(4096)!.data).rescodeExp).toBe(AuthFailure.IncorrectPayload);
  });

  it('re-authentication: a new Negotiate restarts, the queue stays authenticated, new keys apply', () => {
    let cfg = ctrlCfg();
    const ctrl = new DhchapCtrlSession(() => cfg, 0);
    expect(run(ctrl, new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey }, 1)).ok).toBe(true);
    const newKey = { hash: 0 as const, key: seq(48, 5) };
    cfg = ctrlCfg({ hostKey: newKey });
    ctrl.send(new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey: newKey }, 2).negotiate());
    expect(ctrl.authenticated).toBe(true);
    const ctrl2 = new DhchapCtrlSession(() => cfg, 0);
    expect(run(ctrl2, new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey: newKey }, 2)).ok).toBe(true);
    const ctrl3 = new DhchapCtrlSession(() => cfg, 0);
    expect(run(ctrl3, new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey }, 3)).failure).toBe(AuthFailure.Failed);
  });

  it('transaction timeout returns to Negotiate', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg(), 0);
    const host = new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey }, 1);
    ctrl.send(host.negotiate());
    ctrl.receive(4096);
    ctrl.expire();
    expect(ctrl.step).toBe(AuthMsgId.Negotiate);
    expect(ctrl.send(host.reply(encodeChallenge({ tid: 1, hashId: 1, dhGroupId: 0, seqnum: 1, challenge: seq(32), dhValue: new Uint8Array(0) }))).fatal).toBe(true);
  });

  it('receive with a too small allocation length is refused', () => {
    const ctrl = new DhchapCtrlSession(() => ctrlCfg({ dhGroup: dhGroupByName('ffdhe2048')! }), 0);
    ctrl.send(new DhchapHostSession({ hostnqn: HOSTNQN, subnqn: SUBNQN, hostKey }, 1).negotiate());
    expect(ctrl.receive(16 + 32)).toBeUndefined();
    expect(ctrl.receive(16 + 32 + 256)).toBeDefined();
  });
});

describe('RFC 7919 primes', () => {
  // p = 2^b - 2^(b-64) + {[2^(b-130) e] + X} * 2^64 - 1 with X from RFC 7919; e from its series.
  const X: Record<number, bigint> = { 2048: 560316n, 3072: 2625351n, 4096: 5736041n, 6144: 15705020n, 8192: 10965728n };
  const P = 8400n;
  let e = 0n;
  for (let k = 1n, t = 1n << P; t > 0n; k++) {
    e += t;
    t /= k;
  }
  it.each([2048, 3072, 4096, 6144, 8192] as const)('ffdhe%d matches its definition', (bits) => {
    const b = BigInt(bits);
    const p = (1n << b) - (1n << (b - 64n)) + (((e << (b - 130n)) >> P) + X[bits]!) * (1n << 64n) - 1n;
    expect(FFDHE_PRIME_HEX[bits]).toBe(p.toString(16));
  });
  it('hex helper sanity', () => expect(toHex(hex('0a 0b'))).toBe('0a0b'));
});
