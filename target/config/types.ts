/**
 * The nvmet-ts configuration, as the file says it.
 *
 * The shape follows the JSON `nvmetcli save` writes (one object per configfs
 * directory, one field per attribute), with typed values instead of the strings
 * nvmetcli stores. Presence is kept: an optional field that is `undefined` was
 * absent from the file and is written back absent, so files from older
 * nvmetcli/kernels (no `param`, no `ana_groups`, ...) round-trip byte for byte.
 * Defaults are applied by `resolveConfig` (resolve.ts), not here.
 *
 * Every object may carry `extra`: keys the loader did not recognise, kept
 * verbatim so saving does not lose them (see README "Unknown fields").
 *
 * nvmet-ts additions, all ignored by nvmetcli restore (it only looks at the keys
 * it knows), except `param.allow_p2pmem`:
 *   top level      "topology": {...inline PCIe topology...} | "path/to/topology.json"
 *   port           "param": {"allow_p2pmem": "0"|"1"}      (the 2018 series' port option)
 *   port           "nvmet_ts": {"nic": "0000:03:00.0"}      (the RNIC the port listens on)
 *   namespace      "p2pmem": false | true | "0000:05:00.0" (Linux's per-namespace attribute)
 *   namespace      "nvmet_ts": {"nvme": "0000:04:00.0", "block_size": 512}
 *   namespace      "device": {"path": "ram:1G"}             (RAM backing; else a file path)
 */
import type { JsonObject, JsonValue } from './json.js';
import type { FaultRuleSpec } from '../fault/rule.js';
import type { AdrFam, AnaState, BlockSize, DhchapGroupName, DhchapHashName, Treq, TrType, Tsas } from './validators.js';

/** Keys the loader did not recognise, kept for the round trip. */
export type Extras = Record<string, JsonValue>;

/**
 * A host's DH-HMAC-CHAP group, as nvmetcli writes configfs hosts/<nqn>/dhchap_{key,
 * ctrl_key,hash,dhgroup}: `{"key": "DHHC-1:..", "ctrl_key": "DHHC-1:..", "hash":
 * "hmac(sha256)", "dhgroup": "ffdhe2048"}`. "" = not set. Secrets are write-only in the API.
 */
export interface HostDhchap {
  key?: string;
  ctrlKey?: string;
  hash?: DhchapHashName | '';
  dhgroup?: DhchapGroupName | '';
  extra?: Extras;
}

/** nvmet-ts per-host settings: `"nvmet_ts": {"tls_psk": "NVMeTLSkey-1:01:<base64>:"}`. Write-only in the API. */
export interface HostPlacement {
  /** The host's configured TLS PSK (interchange form), as `nvme gen-tls-key` prints it. */
  tlsPsk?: string;
  extra?: Extras;
}

export interface HostConfig {
  /** Host NQN (`hosts[].nqn`). */
  nqn: string;
  dhchap?: HostDhchap;
  nvmetTs?: HostPlacement;
  extra?: Extras;
}

/** `addr` group of a port or referral (configfs addr_* attributes). "" = not set. */
export interface PortAddr {
  trtype?: TrType | '';
  adrfam?: AdrFam | '';
  traddr?: string;
  trsvcid?: string;
  treq?: Treq | '';
  tsas?: Tsas | '';
  extra?: Extras;
}

/** `param` group of a port (configfs param_* attributes). */
export interface PortParam {
  /** In-capsule data size in bytes; -1 = the transport's default. */
  inlineDataSize?: number;
  /** -1 = the transport's default. */
  maxQueueSize?: number;
  mdts?: number;
  piEnable?: boolean;
  /** nvmet-ts: stage this port's I/O in p2pmem when a compatible provider exists. */
  allowP2pmem?: boolean;
  /** nvmet-ts NVMe/TCP limits (see PortLimits in target/core/fabrics-ops.ts): unset = the transport's default. */
  icreqTimeoutMs?: number;
  connectTimeoutMs?: number;
  pduTimeoutMs?: number;
  maxConnections?: number;
  queueDataLimit?: number;
  queueR2tLimit?: number;
  extra?: Extras;
}

export interface ReferralAddr extends PortAddr {
  /** The referred-to port's portid (`addr.portid`, a string in nvmetcli files). */
  portid?: number;
}

export interface ReferralConfig {
  /** configfs directory name of the referral. */
  name: string;
  addr: ReferralAddr;
  enable?: boolean;
  extra?: Extras;
}

export interface AnaGroupConfig {
  grpid: number;
  ana: { state?: AnaState | ''; extra?: Extras };
  extra?: Extras;
}

/** nvmet-ts placement of a port. */
export interface PortPlacement {
  /** BDF of the (R)NIC in the PCIe topology that carries this port's traffic. */
  nic?: string;
  extra?: Extras;
}

export interface PortConfig {
  /** 0..65535 (configfs directory name; Discovery Log Page PORTID). */
  portid: number;
  addr: PortAddr;
  param?: PortParam;
  /** NQNs of the subsystems exported through this port. */
  subsystems: string[];
  referrals: ReferralConfig[];
  anaGroups?: AnaGroupConfig[];
  nvmetTs?: PortPlacement;
  extra?: Extras;
}

/** `attr` group of a subsystem (configfs attr_* attributes). */
export interface SubsystemAttr {
  allowAnyHost?: boolean;
  serial?: string;
  model?: string;
  /** Kernel show format: "1.3", "2.0.1". */
  version?: string;
  cntlidMin?: number;
  cntlidMax?: number;
  firmware?: string;
  ieeeOui?: number;
  qidMax?: number;
  piEnable?: boolean;
  vendorId?: number;
  subsysVendorId?: number;
  tbkas?: boolean;
  extra?: Extras;
}

export interface SubsystemConfig {
  nqn: string;
  attr: SubsystemAttr;
  /** Host NQNs allowed when allow_any_host is off (each must be in `hosts`). */
  allowedHosts: string[];
  namespaces: NamespaceConfig[];
  extra?: Extras;
}

/** `device` group of a namespace. */
export interface NamespaceDevice {
  /** "ram:SIZE" or a file/block device path (relative paths: from the config file's directory). */
  path?: string;
  /** Lowercase UUID. */
  uuid?: string;
  /** Kernel show format "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
  nguid?: string;
  extra?: Extras;
}

/**
 * Linux's per-namespace `p2pmem` attribute: false = never, true = any compatible
 * provider (pci_p2pmem_find), a BDF = that provider only.
 */
export type P2pmemSetting = boolean | string;

/** nvmet-ts placement and geometry of a namespace. */
export interface NamespacePlacement {
  /** BDF of the NVMe SSD endpoint the namespace's media lives on. */
  nvme?: string;
  /** Logical block size; 512 when absent. */
  blockSize?: BlockSize;
  /**
   * IEEE EUI-64, 16 lowercase hex digits. An nvmet-ts extension: Linux nvmet has no
   * EUI-64 attribute (configfs namespaces/N has device_uuid and device_nguid only).
   */
  eui64?: string;
  extra?: Extras;
}

export interface NamespaceConfig {
  /** 1..0xfffffffe */
  nsid: number;
  /** nvmetcli writes 1/0. A namespace without "enable" stays disabled, as with nvmetcli restore. */
  enable: boolean;
  device: NamespaceDevice;
  /** Top-level "ana_grpid" (newer nvmetcli), 1..128. */
  anaGrpid?: number;
  /** "ana" attribute group (newer nvmetcli dumps {"grpid": "1"} here as well). */
  ana?: { grpid?: number; extra?: Extras };
  /** "resv" attribute group (reservations). */
  resv?: { enable?: boolean; extra?: Extras };
  p2pmem?: P2pmemSetting;
  nvmetTs?: NamespacePlacement;
  extra?: Extras;
}

/** The PCIe topology: inline, or a path to a topology file (relative to the config file). */
export type TopologyRef = { kind: 'inline'; value: JsonObject } | { kind: 'file'; path: string };

export interface NvmetConfig {
  hosts: HostConfig[];
  ports: PortConfig[];
  subsystems: SubsystemConfig[];
  /** nvmet-ts: absent = the built-in default topology (config/topologies/default.json). */
  topology?: TopologyRef;
  /** nvmet-ts root `nvmet_ts.faults`: fault rules loaded with the config (target/config/faults.ts). */
  faults?: FaultRuleSpec[];
  extra?: Extras;
}
