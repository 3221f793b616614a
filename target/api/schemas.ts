/**
 * JSON schemas of the management API's bodies, parameters and queries.
 *
 * Bodies are the nvmetcli JSON objects themselves (a subsystem, a namespace, a port,
 * a referral), so what `GET` returns can be `POST`ed back. The schemas check shape
 * only — which keys, JSON types, generous length caps — and refuse unknown keys; the
 * attribute groups are generated from target/config's codec tables so the two never
 * drift. What a value means (NQN syntax, ranges, paths, cross references) is checked
 * afterwards by target/config's parser on the whole next document.
 */

import {
  ANA_GROUP_ANA,
  NAMESPACE_ANA,
  NAMESPACE_DEVICE,
  NAMESPACE_PLACEMENT,
  NAMESPACE_RESV,
  PORT_ADDR,
  PORT_PARAM,
  PORT_PLACEMENT,
  REFERRAL_ADDR,
  SUBSYSTEM_ATTR,
  type FieldCodec,
} from '../config/schema.js';
import { NQN_MAX_BYTES, PATH_MAX } from '../config/validators.js';
import { P2P_POLICY_NAMES } from '../../src/p2pdma/policy.js';

export type Schema = Record<string, unknown>;

/** Longest attribute string accepted before semantic checks (paths are the longest values). */
const ATTR_MAX = PATH_MAX;
/** Upper bound on list lengths in bodies (namespaces of a subsystem, links, referrals). */
const LIST_MAX = 1024;

/** An attribute value as nvmetcli writes it ("1", "0x000000", 16384) or as a person would (true). */
const attrValue: Schema = { type: ['string', 'number', 'boolean'], maxLength: ATTR_MAX };

/** NQNs: at most 223 bytes, i.e. at most 223 UTF-16 units too. */
export const nqnSchema: Schema = { type: 'string', minLength: 1, maxLength: NQN_MAX_BYTES };

function group(spec: Record<string, FieldCodec<unknown>>): Schema {
  const properties: Record<string, Schema> = {};
  for (const codec of Object.values(spec)) properties[codec.key] = attrValue;
  return { type: 'object', additionalProperties: false, properties };
}

/** A group with some properties' schemas made stricter. */
function withProps(g: Schema, props: Record<string, Schema>): Schema {
  return { ...g, properties: { ...(g['properties'] as Record<string, Schema>), ...props } };
}

const groups = {
  subsystemAttr: group(SUBSYSTEM_ATTR as unknown as Record<string, FieldCodec<unknown>>),
  device: withProps(group(NAMESPACE_DEVICE as unknown as Record<string, FieldCodec<unknown>>), { path: { type: 'string', maxLength: PATH_MAX } }),
  nsAna: group(NAMESPACE_ANA as unknown as Record<string, FieldCodec<unknown>>),
  nsResv: group(NAMESPACE_RESV as unknown as Record<string, FieldCodec<unknown>>),
  nsPlacement: group(NAMESPACE_PLACEMENT as unknown as Record<string, FieldCodec<unknown>>),
  portAddr: group(PORT_ADDR as unknown as Record<string, FieldCodec<unknown>>),
  portParam: group(PORT_PARAM as unknown as Record<string, FieldCodec<unknown>>),
  portPlacement: group(PORT_PLACEMENT as unknown as Record<string, FieldCodec<unknown>>),
  referralAddr: group(REFERRAL_ADDR as unknown as Record<string, FieldCodec<unknown>>),
  anaGroupAna: group(ANA_GROUP_ANA as unknown as Record<string, FieldCodec<unknown>>),
};

const intLike: Schema = { type: ['integer', 'string'], maxLength: 16 };
const boolLike: Schema = { type: ['boolean', 'integer', 'string'], maxLength: 8 };

const namespaceProps: Record<string, Schema> = {
  enable: boolLike,
  device: groups.device,
  ana_grpid: intLike,
  ana: groups.nsAna,
  resv: groups.nsResv,
  /** false | true | a provider BDF. */
  p2pmem: { type: ['boolean', 'integer', 'string'], maxLength: 32 },
  nvmet_ts: groups.nsPlacement,
};

/** POST /api/subsystems/:nqn/namespaces — nsid optional (lowest free). */
export const namespaceCreate: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['device'],
  properties: { nsid: intLike, ...namespaceProps, device: { ...groups.device, required: ['path'] } },
};

/** PATCH /api/subsystems/:nqn/namespaces/:nsid */
export const namespacePatch: Schema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: namespaceProps,
};

const namespaceInSubsystem: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['nsid'],
  properties: { nsid: intLike, ...namespaceProps },
};

/** POST /api/subsystems */
export const subsystemCreate: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['nqn'],
  properties: {
    nqn: nqnSchema,
    attr: groups.subsystemAttr,
    allowed_hosts: { type: 'array', maxItems: LIST_MAX, items: nqnSchema },
    namespaces: { type: 'array', maxItems: LIST_MAX, items: namespaceInSubsystem },
  },
};

/** PATCH /api/subsystems/:nqn */
export const subsystemPatch: Schema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    attr: groups.subsystemAttr,
    allowed_hosts: { type: 'array', maxItems: LIST_MAX, items: nqnSchema },
  },
};

/** hosts[].dhchap (values checked by the config parser; secrets are DHHC-1 strings). */
const hostDhchap: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    key: { type: 'string', maxLength: 256 },
    ctrl_key: { type: 'string', maxLength: 256 },
    hash: { type: 'string', maxLength: 32 },
    dhgroup: { type: 'string', maxLength: 32 },
  },
};

/** hosts[].nvmet_ts (the TLS PSK in the interchange form). */
const hostNvmetTs: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { tls_psk: { type: 'string', maxLength: 256 } },
};

/** POST /api/hosts */
export const hostCreate: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['nqn'],
  properties: { nqn: nqnSchema, dhchap: hostDhchap, nvmet_ts: hostNvmetTs },
};

/** PATCH /api/hosts/:nqn */
export const hostPatch: Schema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { dhchap: hostDhchap, nvmet_ts: hostNvmetTs },
};

/** POST /api/hosts, POST .../allowed_hosts, POST /api/ports/:portid/subsystems */
export const nqnBody: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['nqn'],
  properties: { nqn: nqnSchema },
};

const referral: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 255 },
    addr: groups.referralAddr,
    enable: boolLike,
  },
};

/** POST /api/ports/:portid/referrals */
export const referralCreate: Schema = referral;

/** POST /api/ports */
export const portCreate: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['portid'],
  properties: {
    portid: intLike,
    addr: groups.portAddr,
    param: groups.portParam,
    subsystems: { type: 'array', maxItems: LIST_MAX, items: nqnSchema },
    referrals: { type: 'array', maxItems: LIST_MAX, items: referral },
    ana_groups: {
      type: 'array',
      maxItems: 128,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['grpid'],
        properties: { grpid: intLike, ana: groups.anaGroupAna },
      },
    },
    nvmet_ts: groups.portPlacement,
  },
};

/** PATCH /api/ports/:portid */
export const portPatch: Schema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { addr: groups.portAddr, param: groups.portParam, nvmet_ts: groups.portPlacement },
};

/** PUT /api/state: the whole document; target/config's parser checks every field. */
export const stateBody: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    hosts: { type: 'array', maxItems: LIST_MAX },
    ports: { type: 'array', maxItems: LIST_MAX },
    subsystems: { type: 'array', maxItems: LIST_MAX },
    topology: { type: ['object', 'string'], maxLength: PATH_MAX },
    /** nvmet-ts root section: fault rules (checked by target/config/faults.ts). */
    nvmet_ts: { type: 'object' },
  },
};

// ---------------------------------------------------------------- params and queries

export const nqnParams: Schema = {
  type: 'object',
  required: ['nqn'],
  properties: { nqn: nqnSchema },
};

export const nsParams: Schema = {
  type: 'object',
  required: ['nqn', 'nsid'],
  properties: { nqn: nqnSchema, nsid: { type: 'string', pattern: '^[0-9]{1,10}$' } },
};

export const hostParams: Schema = {
  type: 'object',
  required: ['nqn', 'hostnqn'],
  properties: { nqn: nqnSchema, hostnqn: nqnSchema },
};

export const portParams: Schema = {
  type: 'object',
  required: ['portid'],
  properties: { portid: { type: 'string', pattern: '^[0-9]{1,5}$' } },
};

export const portLinkParams: Schema = {
  type: 'object',
  required: ['portid', 'nqn'],
  properties: { portid: { type: 'string', pattern: '^[0-9]{1,5}$' }, nqn: nqnSchema },
};

export const referralParams: Schema = {
  type: 'object',
  required: ['portid', 'name'],
  properties: { portid: { type: 'string', pattern: '^[0-9]{1,5}$' }, name: { type: 'string', minLength: 1, maxLength: 255 } },
};

export const bdfParams: Schema = {
  type: 'object',
  required: ['bdf'],
  properties: { bdf: { type: 'string', maxLength: 16 } },
};

export const explainQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['clients'],
  properties: {
    /** Comma-separated BDFs. */
    clients: { type: 'string', minLength: 1, maxLength: 2048 },
    policy: { type: 'string', enum: [...P2P_POLICY_NAMES] },
  },
};

export const stateQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { format: { type: 'string', enum: ['json', 'msgpack'] } },
};
