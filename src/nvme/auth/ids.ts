/**
 * DH-HMAC-CHAP identifiers (NVMe base spec 2.x "Authentication"; names and values as in
 * Linux include/linux/nvme.h and drivers/nvme/common/auth.c).
 */

/** SECP of Authentication Send/Receive for DH-HMAC-CHAP; SPSP0 and SPSP1 must be 01h. */
export const AUTH_SECP_DHCHAP = 0xe9;
export const AUTH_SPSP0 = 0x01;
export const AUTH_SPSP1 = 0x01;

/** AUTH_Negotiate protocol descriptor AUTHID for DH-HMAC-CHAP. */
export const DHCHAP_AUTH_ID = 0x01;
/** idlist[] of the protocol descriptor: hash ids at 0..29, DH group ids at 30..59. */
export const DHCHAP_MAX_HASH_IDS = 30;
export const DHCHAP_MAX_DH_IDS = 30;

/** Message classes (AUTH_TYPE). */
export const AuthType = {
  Common: 0x00,
  Dhchap: 0x01,
} as const;

/** Message identifiers (AUTH_ID). */
export const AuthMsgId = {
  Negotiate: 0x00,
  Challenge: 0x01,
  Reply: 0x02,
  Success1: 0x03,
  Success2: 0x04,
  Failure2: 0xf0,
  Failure1: 0xf1,
} as const;
export type AuthMsgId = (typeof AuthMsgId)[keyof typeof AuthMsgId];

/** Failure reason code (RESCODE). */
export const AUTH_FAILURE_REASON_FAILED = 0x01;

/** Failure reason code explanations (RESCODE_EXP). */
export const AuthFailure = {
  Failed: 0x01,
  NotUsable: 0x02,
  ConcatMismatch: 0x03,
  HashUnusable: 0x04,
  DhgroupUnusable: 0x05,
  IncorrectPayload: 0x06,
  IncorrectMessage: 0x07,
} as const;
export type AuthFailure = (typeof AuthFailure)[keyof typeof AuthFailure];

export const AUTH_FAILURE_NAMES: Readonly<Record<number, string>> = {
  0x01: 'authentication failed',
  0x02: 'authentication protocol not usable',
  0x03: 'secure channel concatenation mismatch',
  0x04: 'hash function not usable',
  0x05: 'DH group not usable',
  0x06: 'incorrect payload',
  0x07: 'incorrect protocol message',
};

/** Secure channel concatenation (SC_C of AUTH_Negotiate). nvmet-ts implements NOSC only. */
export const AuthSecp = {
  NoSc: 0x00,
  Sc: 0x01,
  NewTlsPsk: 0x02,
  ReplaceTlsPsk: 0x03,
} as const;

/** Hash function identifiers (HashID). */
export const AuthHashId = {
  Sha256: 0x01,
  Sha384: 0x02,
  Sha512: 0x03,
} as const;
export type AuthHashId = (typeof AuthHashId)[keyof typeof AuthHashId];

export interface AuthHash {
  id: AuthHashId;
  /** Name as configfs (`dhchap_hash`) and nvmetcli write it. */
  hmac: 'hmac(sha256)' | 'hmac(sha384)' | 'hmac(sha512)';
  /** node:crypto digest name. */
  digest: 'sha256' | 'sha384' | 'sha512';
  /** Digest length in bytes (= HL of the messages). */
  len: 32 | 48 | 64;
}

export const AUTH_HASHES: readonly AuthHash[] = [
  { id: AuthHashId.Sha256, hmac: 'hmac(sha256)', digest: 'sha256', len: 32 },
  { id: AuthHashId.Sha384, hmac: 'hmac(sha384)', digest: 'sha384', len: 48 },
  { id: AuthHashId.Sha512, hmac: 'hmac(sha512)', digest: 'sha512', len: 64 },
];

export function authHashById(id: number): AuthHash | undefined {
  return AUTH_HASHES.find((h) => h.id === id);
}

export function authHashByName(name: string): AuthHash | undefined {
  return AUTH_HASHES.find((h) => h.hmac === name);
}

/** Diffie-Hellman group identifiers (DH Group ID). */
export const DhGroupId = {
  Null: 0x00,
  Ffdhe2048: 0x01,
  Ffdhe3072: 0x02,
  Ffdhe4096: 0x03,
  Ffdhe6144: 0x04,
  Ffdhe8192: 0x05,
} as const;
export type DhGroupId = (typeof DhGroupId)[keyof typeof DhGroupId];

export interface DhGroup {
  id: DhGroupId;
  /** Name as configfs (`dhchap_dhgroup`) and nvmetcli write it. */
  name: 'null' | 'ffdhe2048' | 'ffdhe3072' | 'ffdhe4096' | 'ffdhe6144' | 'ffdhe8192';
  /** Prime size in bits (0 for the null group); the DH value is bits/8 bytes. */
  bits: 0 | 2048 | 3072 | 4096 | 6144 | 8192;
}

export const DH_GROUPS: readonly DhGroup[] = [
  { id: DhGroupId.Null, name: 'null', bits: 0 },
  { id: DhGroupId.Ffdhe2048, name: 'ffdhe2048', bits: 2048 },
  { id: DhGroupId.Ffdhe3072, name: 'ffdhe3072', bits: 3072 },
  { id: DhGroupId.Ffdhe4096, name: 'ffdhe4096', bits: 4096 },
  { id: DhGroupId.Ffdhe6144, name: 'ffdhe6144', bits: 6144 },
  { id: DhGroupId.Ffdhe8192, name: 'ffdhe8192', bits: 8192 },
];

export function dhGroupById(id: number): DhGroup | undefined {
  return DH_GROUPS.find((g) => g.id === id);
}

export function dhGroupByName(name: string): DhGroup | undefined {
  return DH_GROUPS.find((g) => g.name === name);
}
