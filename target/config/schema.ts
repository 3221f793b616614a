/**
 * Attribute groups: the flat key → value objects nvmetcli dumps from configfs
 * (`attr`, `addr`, `param`, `device`, `ana`, `resv`) plus the nvmet-ts `nvmet_ts`
 * objects. One table per group says, per JSON key, which typed field it fills,
 * how to read it, and how to write it back.
 *
 * Writers produce the kernel's show format, which is what nvmetcli stores
 * (attribute files read back and stripped): booleans "0"/"1", decimal numbers,
 * "0x%06x" for ieee_oui, "0x%x" for vendor ids. So write(read(x)) === x for every
 * value a kernel can show, which is what makes canonical files round-trip.
 */
import type { JsonValue } from './json.js';
import type {
  HostDhchap,
  HostPlacement,
  NamespaceDevice,
  NamespacePlacement,
  P2pmemSetting,
  PortAddr,
  PortParam,
  PortPlacement,
  ReferralAddr,
  SubsystemAttr,
} from './types.js';
import {
  ADRFAMS,
  ANA_GRPID_MAX,
  DHCHAP_GROUPS,
  DHCHAP_HASHES,
  parseDhchapSecretAttr,
  parseTlsPskAttr,
  ANA_STATES,
  BLOCK_SIZES,
  CNTLID_MAX,
  INLINE_DATA_SIZE_MAX,
  PATH_MAX,
  PORTID_MAX,
  QID_MAX,
  TREQS,
  TRTYPES,
  TSAS,
  fail,
  ok,
  parseBdf,
  parseBool,
  parseEnum,
  parseFirmware,
  parseIntIn,
  parseModel,
  parseNguid,
  parseEui64,
  parseSerial,
  parseTraddr,
  parseTrsvcid,
  parseUuid,
  parseVersion,
  type BlockSize,
  type Check,
} from './validators.js';
import { jsonTypeName, showValue } from './issues.js';

export interface FieldCodec<T> {
  /** The JSON key. */
  readonly key: string;
  read(v: JsonValue): Check<T>;
  write(v: T): JsonValue;
}

/** For each typed field of group G (all but `extra`), its codec. */
export type GroupSpec<G> = { readonly [K in Exclude<keyof G, 'extra'>]-?: FieldCodec<Exclude<G[K], undefined>> };

// ---------------------------------------------------------------- codec builders

/** "0"/"1" string attribute. */
export function boolAttr(key: string): FieldCodec<boolean> {
  return { key, read: parseBool, write: (b) => (b ? '1' : '0') };
}

/** 1/0 JSON number (namespace and referral `enable`, read by nvmetcli with int()). */
export function boolInt(key: string): FieldCodec<boolean> {
  return { key, read: parseBool, write: (b) => (b ? 1 : 0) };
}

/** Decimal-string integer attribute. */
export function intAttr(key: string, min: number, max: number, hex = false): FieldCodec<number> {
  return { key, read: (v) => parseIntIn(v, min, max, { hex }), write: (n) => String(n) };
}

/** Hex-string integer attribute written as "0x" + at least `width` digits. */
export function hexAttr(key: string, min: number, max: number, width: number): FieldCodec<number> {
  return {
    key,
    read: (v) => parseIntIn(v, min, max, { hex: true }),
    write: (n) => '0x' + n.toString(16).padStart(width, '0'),
  };
}

/** JSON-number integer (structural ids: nsid, portid, grpid, ana_grpid). */
export function intNum(key: string, min: number, max: number): FieldCodec<number> {
  return { key, read: (v) => parseIntIn(v, min, max), write: (n) => n };
}

export function strAttr(key: string, read: (v: JsonValue) => Check<string>): FieldCodec<string> {
  return { key, read, write: (s) => s };
}

export function enumAttr<T extends string>(key: string, names: readonly T[]): FieldCodec<T | ''> {
  return { key, read: (v) => parseEnum(v, names), write: (s) => s };
}

/** A plain string of bounded length without NUL bytes (paths and names whose meaning is checked elsewhere). */
export function parseBoundedString(v: JsonValue, max: number): Check<string> {
  if (typeof v !== 'string') return fail(`must be a string, got ${jsonTypeName(v)}`);
  if (v.length > max) return fail(`must be at most ${max} characters, got ${v.length}`);
  if (v.includes('\u0000')) return fail('must not contain NUL bytes');
  return ok(v);
}

/** Namespace `p2pmem`: a boolean (kstrtobool forms accepted) or a provider BDF; written as JSON boolean or BDF. */
export const p2pmemCodec: FieldCodec<P2pmemSetting> = {
  key: 'p2pmem',
  read(v) {
    const b = parseBool(v);
    if (b.ok) return b;
    if (typeof v === 'string') {
      const bdf = parseBdf(v);
      if (bdf.ok) return bdf;
    }
    return fail(`must be false, true, or a p2pmem provider's PCI address like "0000:05:00.0", got ${showValue(v)}`);
  },
  write: (p) => p,
};

function parseBlockSize(v: JsonValue): Check<BlockSize> {
  if (typeof v === 'number' && (BLOCK_SIZES as readonly number[]).includes(v)) return ok(v as BlockSize);
  if (typeof v === 'string' && (BLOCK_SIZES as readonly number[]).includes(Number(v)) && /^[0-9]+$/.test(v)) {
    return ok(Number(v) as BlockSize);
  }
  return fail(`must be ${BLOCK_SIZES.join(' or ')}, got ${showValue(v)}`);
}

// ---------------------------------------------------------------- group tables

/** hosts[].nvmet_ts */
export const HOST_PLACEMENT: GroupSpec<HostPlacement> = {
  tlsPsk: strAttr('tls_psk', parseTlsPskAttr),
};

/** hosts[].dhchap: configfs hosts/<nqn>/dhchap_* as nvmetcli groups them. */
export const HOST_DHCHAP: GroupSpec<HostDhchap> = {
  key: strAttr('key', parseDhchapSecretAttr),
  ctrlKey: strAttr('ctrl_key', parseDhchapSecretAttr),
  hash: enumAttr('hash', DHCHAP_HASHES),
  dhgroup: enumAttr('dhgroup', DHCHAP_GROUPS),
};

export const SUBSYSTEM_ATTR: GroupSpec<SubsystemAttr> = {
  allowAnyHost: boolAttr('allow_any_host'),
  serial: strAttr('serial', parseSerial),
  model: strAttr('model', parseModel),
  version: strAttr('version', parseVersion),
  cntlidMin: intAttr('cntlid_min', 1, CNTLID_MAX),
  cntlidMax: intAttr('cntlid_max', 1, CNTLID_MAX),
  firmware: strAttr('firmware', parseFirmware),
  ieeeOui: hexAttr('ieee_oui', 0, 0xffffff, 6),
  qidMax: intAttr('qid_max', 1, QID_MAX),
  piEnable: boolAttr('pi_enable'),
  vendorId: hexAttr('vendor_id', 0, 0xffff, 1),
  subsysVendorId: hexAttr('subsys_vendor_id', 0, 0xffff, 1),
  tbkas: boolAttr('tbkas'),
};

const ADDR_FIELDS = {
  trtype: enumAttr('trtype', TRTYPES),
  adrfam: enumAttr('adrfam', ADRFAMS),
  traddr: strAttr('traddr', parseTraddr),
  trsvcid: strAttr('trsvcid', parseTrsvcid),
  treq: enumAttr('treq', TREQS),
  tsas: enumAttr('tsas', TSAS),
};

export const PORT_ADDR: GroupSpec<PortAddr> = ADDR_FIELDS;

export const REFERRAL_ADDR: GroupSpec<ReferralAddr> = {
  ...ADDR_FIELDS,
  portid: intAttr('portid', 0, PORTID_MAX),
};

export const PORT_PARAM: GroupSpec<PortParam> = {
  inlineDataSize: intAttr('inline_data_size', -1, INLINE_DATA_SIZE_MAX),
  maxQueueSize: intAttr('max_queue_size', -1, 65536),
  mdts: intAttr('mdts', 0, 255),
  piEnable: boolAttr('pi_enable'),
  allowP2pmem: boolAttr('allow_p2pmem'),
  // nvmet-ts NVMe/TCP limits (target/tcp; Linux has no such port attributes)
  icreqTimeoutMs: intAttr('icreq_timeout_ms', 1, 3_600_000),
  connectTimeoutMs: intAttr('connect_timeout_ms', 1, 3_600_000),
  pduTimeoutMs: intAttr('pdu_timeout_ms', 1, 3_600_000),
  maxConnections: intAttr('max_connections', 1, 65536),
  queueDataLimit: intAttr('queue_data_limit', 4096, 2 ** 40),
  queueR2tLimit: intAttr('queue_r2t_limit', 4096, 2 ** 40),
};

export const PORT_PLACEMENT: GroupSpec<PortPlacement> = {
  nic: strAttr('nic', parseBdf),
};

export const NAMESPACE_DEVICE: GroupSpec<NamespaceDevice> = {
  path: strAttr('path', (v) => parseBoundedString(v, PATH_MAX)),
  uuid: strAttr('uuid', parseUuid),
  nguid: strAttr('nguid', parseNguid),
};

export const NAMESPACE_ANA: GroupSpec<{ grpid?: number }> = {
  grpid: intAttr('grpid', 1, ANA_GRPID_MAX),
};

export const NAMESPACE_RESV: GroupSpec<{ enable?: boolean }> = {
  enable: boolAttr('enable'),
};

export const NAMESPACE_PLACEMENT: GroupSpec<NamespacePlacement> = {
  nvme: strAttr('nvme', parseBdf),
  blockSize: { key: 'block_size', read: parseBlockSize, write: (n) => n },
  eui64: strAttr('eui64', parseEui64),
};

export const ANA_GROUP_ANA: GroupSpec<{ state?: (typeof ANA_STATES)[number] | '' }> = {
  state: enumAttr('state', ANA_STATES),
};
