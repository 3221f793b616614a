/**
 * ConfigStore edits report exactly what parseConfig reports for the whole edited
 * document (paths mapped to the request's label as the API did), and a committed
 * edit leaves the same document parseConfig would have produced.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ConfigStore, configToJson, parseConfig, type ConfigEdit, type ConfigError, type NvmetConfig } from '../../target/config/index.js';
import type { JsonObject } from '../../target/config/json.js';
import { mapPath, type PathMap } from '../../target/api/document.js';

const TOPOLOGY = JSON.parse(readFileSync(new URL('../../config/topologies/default.json', import.meta.url), 'utf8')) as JsonObject;
const H1 = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555';
const H2 = 'nqn.2014-08.org.nvmexpress:uuid:66666666-2222-4333-8444-555555555555';
const S1 = 'nqn.2024-01.io.nvmet-ts:one';
const S2 = 'nqn.2024-01.io.nvmet-ts:two';
const UUID2 = '0b3c5d7e-1f2a-4b3c-8d4e-5f6a7b8c9d0e';

function base(): JsonObject {
  return {
    hosts: [{ nqn: H1 }, { nqn: H2 }],
    subsystems: [
      {
        nqn: S1,
        attr: { allow_any_host: '0' },
        allowed_hosts: [H1],
        namespaces: [
          { nsid: 1, enable: 1, device: { path: 'ram:1M' } },
          { nsid: 2, enable: 0, device: { path: 'ram:1M', uuid: UUID2 } },
        ],
      },
      { nqn: S2, attr: { allow_any_host: '1' }, allowed_hosts: [], namespaces: [] },
    ],
    ports: [
      { portid: 1, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '4420' }, subsystems: [S1], referrals: [] },
      { portid: 2, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '4421' }, subsystems: [S2], referrals: [] },
      { portid: 3, addr: {}, subsystems: [], referrals: [] },
    ],
    topology: TOPOLOGY,
  };
}

function load(): ConfigStore {
  const r = parseConfig(base());
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return new ConfigStore(r.config, { baseDir: '/' });
}

/** The whole-document way: edit the JSON, parse it all, map paths under `map.prefix`. */
function whole(edit: (doc: JsonObject) => void, map?: PathMap): { errors: ConfigError[]; config?: NvmetConfig } {
  const doc = configToJson(load().document);
  edit(doc);
  const r = parseConfig(doc);
  if (r.ok) return { errors: [], config: r.config };
  return { errors: r.errors.map((e) => ({ path: mapPath(e.path, map), message: e.message })) };
}

const arr = (v: unknown): JsonObject[] => v as JsonObject[];
const subs = (d: JsonObject): JsonObject[] => arr(d['subsystems']);
const ports = (d: JsonObject): JsonObject[] => arr(d['ports']);

interface Case {
  name: string;
  whole: (doc: JsonObject) => void;
  map?: PathMap;
  edit: (e: ConfigEdit, store: ConfigStore) => void;
  /** The first error must match this (guards against both sides being empty by mistake). */
  first?: RegExp;
}

const cases: Case[] = [
  {
    name: 'an allowed host that is not defined',
    whole: (d) => subs(d)[0]!['allowed_hosts'] = [H1, 'nqn.2024-01.io.x:ghost'],
    map: { prefix: 'subsystems[0]', label: 'body' },
    edit: (e) => {
      const s = configToJson(load().document);
      const sub = subs(s)[0]!;
      sub['allowed_hosts'] = [H1, 'nqn.2024-01.io.x:ghost'];
      e.putSubsystemJson(sub, { at: { label: 'body' } });
    },
    first: /^body\.allowed_hosts\[1\]: host "nqn\.2024-01\.io\.x:ghost" is not defined in hosts$/,
  },
  {
    name: 'removing a host a subsystem allows',
    whole: (d) => arr(d['hosts']).splice(0, 1),
    edit: (e) => e.removeHost(H1),
    first: /^subsystems\[0\]\.allowed_hosts\[0\]: host .* is not defined in hosts$/,
  },
  {
    name: 'removing a subsystem a port links',
    whole: (d) => subs(d).splice(0, 1),
    edit: (e) => e.removeSubsystem(S1),
    first: /^ports\[0\]\.subsystems\[0\]: subsystem .* is not defined in subsystems$/,
  },
  {
    name: 'a new port on an address in use',
    whole: (d) => ports(d).push({ portid: 4, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '4421' }, subsystems: [], referrals: [] }),
    map: { prefix: 'ports[3]', label: 'body' },
    edit: (e) => e.putPortJson({ portid: 4, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '4421' }, subsystems: [], referrals: [] }, { at: { label: 'body' }, create: true }),
    first: /^body\.addr: listens on the same address as ports\[1\] \(tcp 127\.0\.0\.1 4421\)$/,
  },
  {
    name: "an earlier port moved onto a later port's address (reported at the later one)",
    whole: (d) => ((ports(d)[0]!['addr'] as JsonObject)['trsvcid'] = '4421'),
    map: { prefix: 'ports[0]', label: 'body' },
    edit: (e) => {
      const p = ports(configToJson(load().document))[0]!;
      (p['addr'] as JsonObject)['trsvcid'] = '4421';
      e.putPortJson(p, { at: { label: 'body' } });
    },
    first: /^ports\[1\]\.addr: listens on the same address as ports\[0\]/,
  },
  {
    name: 'a new namespace with a duplicate uuid',
    whole: (d) => arr(subs(d)[0]!['namespaces']).push({ nsid: 3, enable: 0, device: { path: 'ram:1M', uuid: UUID2 } }),
    map: { prefix: 'subsystems[0].namespaces[2]', label: 'body' },
    edit: (e) => {
      const sub = subs(configToJson(load().document))[0]!;
      arr(sub['namespaces']).push({ nsid: 3, enable: 0, device: { path: 'ram:1M', uuid: UUID2 } });
      e.putSubsystemJson(sub, { at: { label: 'body', inner: '.namespaces[2]' } });
    },
    first: /^body\.device\.uuid: duplicate uuid/,
  },
  {
    name: "a namespace given a later namespace's uuid (reported at the later one, a document path)",
    whole: (d) => ((arr(subs(d)[0]!['namespaces'])[0]!['device'] as JsonObject)['uuid'] = UUID2),
    map: { prefix: 'subsystems[0].namespaces[0]', label: 'body' },
    edit: (e) => {
      const sub = subs(configToJson(load().document))[0]!;
      (arr(sub['namespaces'])[0]!['device'] as JsonObject)['uuid'] = UUID2;
      e.putSubsystemJson(sub, { at: { label: 'body', inner: '.namespaces[0]' } });
    },
    first: /^subsystems\[0\]\.namespaces\[1\]\.device\.uuid: duplicate uuid/,
  },
  {
    name: 'a bad attribute',
    whole: (d) => ((subs(d)[1]!['attr'] as JsonObject)['cntlid_min'] = '0'),
    map: { prefix: 'subsystems[1]', label: 'body' },
    edit: (e) => {
      const sub = subs(configToJson(load().document))[1]!;
      (sub['attr'] as JsonObject)['cntlid_min'] = '0';
      e.putSubsystemJson(sub, { at: { label: 'body' } });
    },
    first: /^body\.attr\.cntlid_min: /,
  },
  {
    name: 'a bad attribute without a label names the document path',
    whole: (d) => ((subs(d)[1]!['attr'] as JsonObject)['model'] = 7),
    edit: (e) => {
      const sub = subs(configToJson(load().document))[1]!;
      (sub['attr'] as JsonObject)['model'] = 7;
      e.putSubsystemJson(sub);
    },
    first: /^subsystems\[1\]\.attr\.model: /,
  },
  {
    name: 'linking a subsystem that does not exist',
    whole: (d) => (ports(d)[1]!['subsystems'] as string[]).push('nqn.2024-01.io.x:ghost'),
    map: { prefix: 'ports[1]', label: 'port 2' },
    edit: (e) => e.link(2, 'nqn.2024-01.io.x:ghost', { at: { label: 'port 2' } }),
    first: /^port 2\.subsystems\[1\]: subsystem .* is not defined in subsystems$/,
  },
  {
    name: 'a host that exists already',
    whole: (d) => arr(d['hosts']).push({ nqn: H1 }),
    map: { prefix: 'hosts[2]', label: 'body' },
    edit: (e) => e.putHostJson({ nqn: H1 }, { at: { label: 'body' }, create: true }),
    first: /^body\.nqn: duplicate host NQN \(also hosts\[0\]\)$/,
  },
  {
    name: 'a namespace on a NIC',
    whole: (d) => arr(subs(d)[1]!['namespaces']).push({ nsid: 1, enable: 0, device: { path: 'ram:1M' }, nvmet_ts: { nvme: '0000:03:00.0' } }),
    map: { prefix: 'subsystems[1].namespaces[0]', label: 'body' },
    edit: (e) => {
      const sub = subs(configToJson(load().document))[1]!;
      arr(sub['namespaces']).push({ nsid: 1, enable: 0, device: { path: 'ram:1M' }, nvmet_ts: { nvme: '0000:03:00.0' } });
      e.putSubsystemJson(sub, { at: { label: 'body', inner: '.namespaces[0]' } });
    },
    first: /^body\.nvmet_ts\.nvme: 0000:03:00\.0 is a nic function, not an NVMe SSD$/,
  },
  {
    name: 'a port NIC that is an SSD',
    whole: (d) => (ports(d)[2]!['nvmet_ts'] = { nic: '0000:04:00.0' }),
    map: { prefix: 'ports[2]', label: 'body' },
    edit: (e) => {
      const p = ports(configToJson(load().document))[2]!;
      p['nvmet_ts'] = { nic: '0000:04:00.0' };
      e.putPortJson(p, { at: { label: 'body' } });
    },
    first: /^body\.nvmet_ts\.nic: 0000:04:00\.0 is a nvme function, not a NIC$/,
  },
];

describe('ConfigEdit.check reports what parseConfig reports for the whole document', () => {
  test.each(cases)('$name', (c) => {
    const want = whole(c.whole, c.map);
    const store = load();
    const e = store.edit();
    c.edit(e, store);
    const got = e.check();
    expect(got).toEqual(want.errors);
    expect(got.length).toBeGreaterThan(0);
    if (c.first) expect(`${got[0]!.path}: ${got[0]!.message}`).toMatch(c.first);
  });
});

describe('committed edits', () => {
  const valid: Case[] = [
    { name: 'add a host', whole: (d) => arr(d['hosts']).push({ nqn: 'nqn.2024-01.io.x:h3' }), edit: (e) => e.putHostJson({ nqn: 'nqn.2024-01.io.x:h3' }, { create: true }) },
    { name: 'remove a port', whole: (d) => ports(d).splice(1, 1), edit: (e) => e.removePort(2) },
    {
      name: 'remove a subsystem and its links',
      whole: (d) => {
        subs(d).splice(0, 1);
        ports(d)[0]!['subsystems'] = [];
      },
      edit: (e) => {
        e.removeSubsystem(S1);
        e.unlink(1, S1);
      },
    },
    { name: 'link', whole: (d) => (ports(d)[0]!['subsystems'] as string[]).push(S2), edit: (e) => e.link(1, S2) },
    {
      name: 'replace a subsystem keeps its place',
      whole: (d) => ((subs(d)[0]!['attr'] as JsonObject)['model'] = 'x'),
      edit: (e) => {
        const sub = subs(configToJson(load().document))[0]!;
        (sub['attr'] as JsonObject)['model'] = 'x';
        e.putSubsystemJson(sub);
      },
    },
  ];
  test.each(valid)('$name: same document as parseConfig, indexes follow', (c) => {
    const want = whole(c.whole);
    expect(want.errors).toEqual([]);
    const store = load();
    const e = store.edit();
    c.edit(e, store);
    expect(e.check()).toEqual([]);
    store.commit(e);
    expect(configToJson(store.document)).toEqual(configToJson(want.config!));
    // Indexes agree with the document.
    const doc = store.document;
    for (const s of doc.subsystems) {
      expect(store.portsLinking(s.nqn)).toEqual(doc.ports.filter((p) => p.subsystems.includes(s.nqn)).map((p) => p.portid).sort((a, b) => a - b));
    }
    for (const h of doc.hosts) expect([...store.subsystemsAllowing(h.nqn)].sort()).toEqual(doc.subsystems.filter((s) => s.allowedHosts.includes(h.nqn)).map((s) => s.nqn).sort());
  });
});
