/**
 * serializeConfig: NvmetConfig → the text `nvmetcli save` would write for it
 * (json.dumps(sort_keys=True, indent=2) + "\n").
 *
 * Only fields present in the config are written, unknown fields (`extra`) go
 * back where they came from, and values are written in the kernel's show format
 * (schema.ts), so: a canonical nvmetcli file → parse → serialize is the same
 * bytes, and serialize → parse → serialize is a fixed point for any config.
 */
import { dumpsPythonJson, hasOwn, setOwn, type JsonObject } from './json.js';
import {
  ANA_GROUP_ANA,
  HOST_DHCHAP,
  HOST_PLACEMENT,
  NAMESPACE_ANA,
  NAMESPACE_DEVICE,
  NAMESPACE_PLACEMENT,
  NAMESPACE_RESV,
  PORT_ADDR,
  PORT_PARAM,
  PORT_PLACEMENT,
  REFERRAL_ADDR,
  SUBSYSTEM_ATTR,
  p2pmemCodec,
  type FieldCodec,
  type GroupSpec,
} from './schema.js';
import type {
  AnaGroupConfig,
  Extras,
  HostConfig,
  NamespaceConfig,
  NvmetConfig,
  PortConfig,
  ReferralConfig,
  SubsystemConfig,
} from './types.js';

import { nvmetTsRootToJson } from './faults.js';
import { configWork } from './work.js';

/** The config as the JSON object nvmetcli's dump() would build (management API responses use this). */
export function configToJson(config: NvmetConfig): JsonObject {
  const out: JsonObject = {
    hosts: config.hosts.map(hostToJson),
    ports: config.ports.map(portToJson),
    subsystems: config.subsystems.map(subsystemToJson),
  };
  if (config.topology) out.topology = config.topology.kind === 'inline' ? config.topology.value : config.topology.path;
  if (config.faults) out.nvmet_ts = nvmetTsRootToJson(config.faults);
  return addExtras(out, config.extra);
}

/** The file text: byte-identical to `nvmetcli save` output for the same content. */
export function serializeConfig(config: NvmetConfig): string {
  return dumpsPythonJson(configToJson(config), 2) + '\n';
}

/** Unknown keys never override known ones: a programmatic `extra.nqn` cannot shadow `nqn`. */
function addExtras(out: JsonObject, extra: Extras | undefined): JsonObject {
  if (extra) for (const k of Object.keys(extra)) if (!hasOwn(out, k)) setOwn(out, k, extra[k]!);
  return out;
}

function groupToJson<G extends { extra?: Extras }>(g: G, spec: GroupSpec<G>): JsonObject {
  const out: JsonObject = {};
  for (const [prop, codec] of Object.entries(spec) as [string, FieldCodec<unknown>][]) {
    const v = (g as Record<string, unknown>)[prop];
    if (v !== undefined) setOwn(out, codec.key, codec.write(v));
  }
  return addExtras(out, g.extra);
}

export function hostToJson(h: HostConfig): JsonObject {
  configWork.serialized++;
  const out: JsonObject = { nqn: h.nqn };
  if (h.dhchap !== undefined) setOwn(out, 'dhchap', groupToJson(h.dhchap, HOST_DHCHAP));
  if (h.nvmetTs !== undefined) setOwn(out, 'nvmet_ts', groupToJson(h.nvmetTs, HOST_PLACEMENT));
  return addExtras(out, h.extra);
}

export function subsystemToJson(s: SubsystemConfig): JsonObject {
  configWork.serialized++;
  return addExtras(
    {
      nqn: s.nqn,
      attr: groupToJson(s.attr, SUBSYSTEM_ATTR),
      allowed_hosts: [...s.allowedHosts],
      namespaces: s.namespaces.map(namespaceToJson),
    },
    s.extra,
  );
}

export function namespaceToJson(ns: NamespaceConfig): JsonObject {
  configWork.serialized++;
  const out: JsonObject = {
    nsid: ns.nsid,
    enable: ns.enable ? 1 : 0,
    device: groupToJson(ns.device, NAMESPACE_DEVICE),
  };
  if (ns.anaGrpid !== undefined) out.ana_grpid = ns.anaGrpid;
  if (ns.ana) out.ana = groupToJson(ns.ana, NAMESPACE_ANA);
  if (ns.resv) out.resv = groupToJson(ns.resv, NAMESPACE_RESV);
  if (ns.p2pmem !== undefined) out.p2pmem = p2pmemCodec.write(ns.p2pmem);
  if (ns.nvmetTs) out.nvmet_ts = groupToJson(ns.nvmetTs, NAMESPACE_PLACEMENT);
  return addExtras(out, ns.extra);
}

export function portToJson(p: PortConfig): JsonObject {
  configWork.serialized++;
  const out: JsonObject = {
    portid: p.portid,
    addr: groupToJson(p.addr, PORT_ADDR),
    subsystems: [...p.subsystems],
    referrals: p.referrals.map(referralToJson),
  };
  if (p.param) out.param = groupToJson(p.param, PORT_PARAM);
  if (p.anaGroups) out.ana_groups = p.anaGroups.map(anaGroupToJson);
  if (p.nvmetTs) out.nvmet_ts = groupToJson(p.nvmetTs, PORT_PLACEMENT);
  return addExtras(out, p.extra);
}

function referralToJson(r: ReferralConfig): JsonObject {
  const out: JsonObject = { name: r.name, addr: groupToJson(r.addr, REFERRAL_ADDR) };
  if (r.enable !== undefined) out.enable = r.enable ? 1 : 0;
  return addExtras(out, r.extra);
}

function anaGroupToJson(g: AnaGroupConfig): JsonObject {
  return addExtras({ grpid: g.grpid, ana: groupToJson(g.ana, ANA_GROUP_ANA) }, g.extra);
}
