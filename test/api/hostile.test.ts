/**
 * Hostile input: wrong types, huge strings, unknown fields, path traversal, bad
 * semantics, broken encodings. Every request gets a 4xx with a message naming the
 * field, and nothing changes — not the document, not the live target, not the disk.
 */
import { mkdirSync, readdirSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pack } from 'msgpackr';
import { startStack, enc, SUBNQN, type Stack } from './helpers.js';

let s: Stack;
const NS = `/api/subsystems/${enc(SUBNQN)}/namespaces`;
const SUB2 = 'nqn.2024-01.io.nvmet-ts:hostile';

beforeAll(async () => {
  s = await startStack();
  writeFileSync(join(s.dir, 'outside.img'), Buffer.alloc(1 << 20));
  symlinkSync(join(s.dir, 'outside.img'), join(s.dataDir, 'link.img'));
  mkdirSync(join(s.dataDir, 'sub'));
});
afterAll(async () => {
  await s.close();
});

interface Case {
  name: string;
  method: string;
  path: string | (() => string);
  body?: unknown | (() => unknown);
  headers?: Record<string, string>;
  status: number;
  /** What the error message must say (it names the field). */
  error?: RegExp;
}

function stateWith(edit: (st: any) => void): () => unknown { // eslint-disable-line @typescript-eslint/no-explicit-any
  return () => {
    const st = JSON.parse(JSON.stringify(s.svc.configJson()));
    edit(st);
    return st;
  };
}

const ram = { path: 'ram:1M' };

const cases: Case[] = [
  // ---- wrong types
  { name: 'nqn is a number', method: 'POST', path: '/api/subsystems', body: { nqn: 5 }, status: 400, error: /^body\.nqn: must be of type string/ },
  { name: 'attr value is an array', method: 'POST', path: '/api/subsystems', body: { nqn: SUB2, attr: { allow_any_host: [] } }, status: 400, error: /^body\.attr\.allow_any_host: must be of type/ },
  { name: 'device path is a number', method: 'POST', path: NS, body: { device: { path: 123 } }, status: 400, error: /^body\.device\.path: must be of type string/ },
  { name: 'enable is not a boolean', method: 'POST', path: NS, body: { device: ram, enable: 'maybe' }, status: 400, error: /^body\.enable: must be a boolean/ },
  { name: 'nsid is a fraction', method: 'POST', path: NS, body: { device: ram, nsid: 1.5 }, status: 400, error: /^body\.nsid: must be of type integer or string/ },
  { name: 'portid is text', method: 'POST', path: '/api/ports', body: { portid: 'abc' }, status: 400, error: /^body\.portid: must be an integer/ },
  { name: 'cntlid_min is an object', method: 'PATCH', path: `/api/subsystems/${enc(SUBNQN)}`, body: { attr: { cntlid_min: {} } }, status: 400, error: /^body\.attr\.cntlid_min: must be of type/ },
  { name: 'host nqn is null', method: 'POST', path: '/api/hosts', body: { nqn: null }, status: 400, error: /^body\.nqn: must be of type string/ },
  { name: 'body is an array', method: 'POST', path: NS, body: [], status: 400, error: /^body: must be of type object/ },
  { name: 'allow_p2pmem is not a boolean', method: 'PATCH', path: '/api/ports/1', body: { param: { allow_p2pmem: 'perhaps' } }, status: 400, error: /^body\.param\.allow_p2pmem: must be a boolean/ },
  { name: 'empty PATCH', method: 'PATCH', path: '/api/ports/1', body: {}, status: 400, error: /^body: must not be empty/ },

  // ---- huge strings and bodies
  { name: 'nqn of 300 characters', method: 'POST', path: '/api/subsystems', body: { nqn: 'nqn.2024-01.io.x:' + 'a'.repeat(300) }, status: 400, error: /^body\.nqn: must be at most 223 characters/ },
  { name: 'nqn over 223 UTF-8 bytes', method: 'POST', path: '/api/subsystems', body: { nqn: 'nqn.2024-01.io.x:' + 'é'.repeat(110) }, status: 400, error: /^body\.nqn: NQN must be at most 223 bytes/ },
  { name: 'model of 100 000 characters', method: 'POST', path: '/api/subsystems', body: { nqn: SUB2, attr: { model: 'm'.repeat(100_000) } }, status: 400, error: /^body\.attr\.model: must be at most 4095 characters/ },
  { name: 'model of 41 characters', method: 'POST', path: '/api/subsystems', body: { nqn: SUB2, attr: { model: 'm'.repeat(41) } }, status: 400, error: /^body\.attr\.model: model number must be at most 40 characters/ },
  { name: 'path of 5000 characters', method: 'POST', path: NS, body: { device: { path: 'a'.repeat(5000) } }, status: 400, error: /^body\.device\.path: must be at most/ },
  { name: '2 MiB body', method: 'POST', path: '/api/subsystems', body: { nqn: SUB2, attr: { model: 'x'.repeat(2 << 20) } }, status: 413, error: /too large/ },
  { name: '2000 namespaces', method: 'POST', path: '/api/subsystems', body: { nqn: SUB2, namespaces: Array.from({ length: 2000 }, (_, i) => ({ nsid: i + 1 })) }, status: 400, error: /^body\.namespaces: must have at most 1024 items/ },

  // ---- unknown fields
  { name: 'unknown top-level field', method: 'POST', path: '/api/subsystems', body: { nqn: SUB2, color: 'red' }, status: 400, error: /^body\.color: unknown field/ },
  { name: 'unknown device field', method: 'POST', path: NS, body: { device: { path: 'ram:1M', evil: 1 } }, status: 400, error: /^body\.device\.evil: unknown field/ },
  { name: 'unknown addr field', method: 'PATCH', path: '/api/ports/1', body: { addr: { trtype: 'tcp', bogus: 1 } }, status: 400, error: /^body\.addr\.bogus: unknown field/ },
  { name: 'unknown host field', method: 'POST', path: '/api/hosts', body: { nqn: 'nqn.2024-01.io.x:h', admin: true }, status: 400, error: /^body\.admin: unknown field/ },
  { name: 'unknown state key', method: 'PUT', path: '/api/state', body: stateWith((st) => (st.extra = 1)), status: 400, error: /^body\.extra: unknown field/ },
  { name: 'unknown attribute in imported state', method: 'PUT', path: '/api/state', body: stateWith((st) => (st.subsystems[0].attr.backdoor = '1')), status: 400, error: /^subsystems\[0\]\.attr\.backdoor: unknown field/ },

  // ---- path traversal and files outside the data directory
  { name: '../../etc/passwd', method: 'POST', path: NS, body: { device: { path: '../../etc/passwd' }, enable: 1 }, status: 400, error: /^body\.device\.path: path must not contain "\.\." segments/ },
  { name: 'absolute path outside', method: 'POST', path: NS, body: { device: { path: '/etc/passwd' }, enable: 1 }, status: 400, error: /^body\.device\.path: path must be inside/ },
  { name: 'sub/../../x.img', method: 'POST', path: NS, body: { device: { path: 'sub/../../x.img' } }, status: 400, error: /^body\.device\.path: path must not contain "\.\."/ },
  { name: 'dataDir/../outside.img', method: 'POST', path: NS, body: () => ({ device: { path: `${s.dataDir}/../outside.img` } }), status: 400, error: /^body\.device\.path: path must not contain "\.\."/ },
  { name: 'NUL byte', method: 'POST', path: NS, body: { device: { path: 'a\u0000b.img' } }, status: 400, error: /^body\.device\.path: path must not contain NUL/ },
  { name: 'symlink escaping the data directory', method: 'POST', path: NS, body: { device: { path: 'link.img' }, enable: 1 }, status: 400, error: /^body\.device\.path: link\.img resolves outside the data directory/ },
  { name: 'a directory', method: 'POST', path: NS, body: { device: { path: 'sub' } }, status: 400, error: /^body\.device\.path: sub is not a regular file/ },
  { name: 'traversal inside a new subsystem', method: 'POST', path: '/api/subsystems', body: { nqn: SUB2, namespaces: [{ nsid: 1, enable: 1, device: { path: '../x.img' } }] }, status: 400, error: /^body\.namespaces\[0\]\.device\.path: path must not contain "\.\."/ },
  { name: 'traversal in PATCH of an enabled namespace', method: 'PATCH', path: `${NS}/1`, body: { device: { path: '../../etc/shadow' } }, status: 400, error: /^body\.device\.path: / },
  {
    name: 'outside path in an imported state',
    method: 'PUT',
    path: '/api/state',
    body: stateWith((st) => st.subsystems[0].namespaces.push({ nsid: 9, enable: 1, device: { path: '/etc/passwd' } })),
    status: 400,
    error: /^subsystems\[0\]\.namespaces\[1\]\.device\.path: path must be inside/,
  },

  // ---- semantics
  { name: 'the discovery NQN', method: 'POST', path: '/api/subsystems', body: { nqn: 'nqn.2014-08.org.nvmexpress.discovery' }, status: 400, error: /^body\.nqn: the discovery subsystem NQN/ },
  { name: "NQN with '/'", method: 'POST', path: '/api/subsystems', body: { nqn: 'nqn.2024-01.io.x:a/b' }, status: 400, error: /^body\.nqn: NQN must not contain '\/'/ },
  { name: 'nsid 0', method: 'POST', path: NS, body: { nsid: 0, device: ram }, status: 400, error: /^body\.nsid: must be an integer 1\.\./ },
  { name: 'ram:0', method: 'POST', path: NS, body: { device: { path: 'ram:0' } }, status: 400, error: /^body\.device\.path: RAM backing size must be greater than 0/ },
  { name: 'ram size not a block multiple', method: 'POST', path: NS, body: { device: { path: 'ram:1000' } }, status: 400, error: /^body\.device\.path: RAM size 1000 is not a multiple/ },
  { name: 'serial of 21 characters', method: 'PATCH', path: `/api/subsystems/${enc(SUBNQN)}`, body: { attr: { serial: 's'.repeat(21) } }, status: 400, error: /^body\.attr\.serial: / },
  { name: 'traddr not an IP', method: 'POST', path: '/api/ports', body: { portid: 3, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: 'not-an-ip', trsvcid: '4420' } }, status: 400, error: /^body\.addr\.traddr: must be an IPv4 address/ },
  { name: 'trsvcid 70000', method: 'POST', path: '/api/ports', body: { portid: 3, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '70000' } }, status: 400, error: /^body\.addr\.trsvcid: must be a decimal port/ },
  { name: 'portid 70000', method: 'POST', path: '/api/ports', body: { portid: 70000 }, status: 400, error: /^body\.portid: must be an integer 0\.\.65535/ },
  { name: 'link to an unknown subsystem', method: 'POST', path: '/api/ports', body: { portid: 3, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '0' }, subsystems: ['nqn.2024-01.io.x:ghost'] }, status: 400, error: /^body\.subsystems\[0\]: subsystem .* is not defined/ },
  { name: 'p2pmem provider not in the topology', method: 'POST', path: NS, body: { device: ram, p2pmem: '0000:99:00.0' }, status: 400, error: /^body\.p2pmem: no PCI function 0000:99:00\.0/ },
  { name: 'namespace placed on the NIC', method: 'POST', path: NS, body: { device: ram, nvmet_ts: { nvme: '0000:03:00.0' } }, status: 400, error: /^body\.nvmet_ts\.nvme: 0000:03:00\.0 is a nic function/ },
  { name: 'duplicate subsystem', method: 'POST', path: '/api/subsystems', body: { nqn: SUBNQN }, status: 409, error: /already exists/ },
  { name: 'duplicate nsid', method: 'POST', path: NS, body: { nsid: 1, device: ram }, status: 409, error: /^body\.nsid: namespace 1 already exists/ },
  { name: 'duplicate port', method: 'POST', path: '/api/ports', body: { portid: 1 }, status: 409, error: /^body\.portid: port 1 already exists/ },
  {
    name: 'port on an address in use (rolled back)',
    method: 'POST',
    path: '/api/ports',
    body: () => ({ portid: 3, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: String(s.tcpPort(1)) }, subsystems: [SUBNQN] }),
    status: 409,
    error: /EADDRINUSE/,
  },
  { name: 'bad nsid in the URL', method: 'GET', path: `${NS}/abc`, status: 400, error: /^params\.nsid: has an invalid format/ },
  { name: 'unknown subsystem', method: 'PATCH', path: `/api/subsystems/${enc('nqn.2024-01.io.x:ghost')}`, body: { attr: { model: 'x' } }, status: 404, error: /does not exist/ },
  { name: 'explain without clients', method: 'GET', path: '/api/p2p/explain', status: 400, error: /^querystring\.clients: required/ },
  { name: 'explain with a bad policy', method: 'GET', path: '/api/p2p/explain?clients=0000:03:00.0&policy=anything', status: 400, error: /^querystring\.policy: must be one of/ },

  {
    name: 'a topology change while running',
    method: 'PUT',
    path: '/api/state',
    body: stateWith((st) => (st.topology.name = 'other')),
    status: 409,
    error: /^topology: the PCIe topology cannot change while the target runs/,
  },
  {
    name: '5000-deep nesting in an imported state',
    method: 'PUT',
    path: '/api/state',
    body: () => `{"hosts":[${'['.repeat(5000)}${']'.repeat(5000)}]}`,
    headers: { 'content-type': 'application/json' },
    status: 400,
    error: /^hosts\[0\]: a host must be an object/,
  },
  {
    name: '5000-deep nesting in an inline topology',
    method: 'PUT',
    path: '/api/state',
    body: () => `{"topology":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    headers: { 'content-type': 'application/json' },
    status: 400,
  },

  // ---- encodings
  { name: '__proto__ key', method: 'POST', path: '/api/hosts', body: '{"nqn":"nqn.2024-01.io.x:p","__proto__":{"polluted":1}}', headers: { 'content-type': 'application/json' }, status: 400 },
  { name: 'truncated JSON', method: 'POST', path: '/api/hosts', body: '{"nqn":', headers: { 'content-type': 'application/json' }, status: 400, error: /^body: invalid JSON/ },
  { name: 'text/plain body', method: 'POST', path: '/api/hosts', body: 'nqn=x', headers: { 'content-type': 'text/plain' }, status: 415, error: /unsupported content type/ },
  { name: 'garbage MessagePack', method: 'PUT', path: '/api/state', body: new Uint8Array([0xc1, 0xc1, 0xc1]), headers: { 'content-type': 'application/msgpack' }, status: 400, error: /^body: invalid MessagePack/ },
  { name: 'MessagePack array', method: 'PUT', path: '/api/state', body: pack([1, 2, 3]), headers: { 'content-type': 'application/msgpack' }, status: 400, error: /^body: must be of type object/ },
  { name: 'MessagePack with a binary value', method: 'PUT', path: '/api/state', body: pack({ hosts: [{ nqn: Buffer.from('x') }] }), headers: { 'content-type': 'application/msgpack' }, status: 400, error: /^body: .* is not a JSON value/ },
];

function snapshot(): { state: string; ports: number; namespaces: number; hosts: number; files: string[] } {
  const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
  return {
    state: s.svc.serialized(),
    ports: s.svc.nvmet.ports.length,
    namespaces: s.svc.nvmet.subsystems.reduce((n, x) => n + x.namespaces.length, 0),
    hosts: s.svc.nvmet.hosts.length,
    files: files(s.dir).sort(),
  };
}

describe('hostile bodies get 4xx and change nothing', () => {
  test.each(cases)('$name → $status', async (c) => {
    const before = snapshot();
    const path = typeof c.path === 'function' ? c.path() : c.path;
    const body = typeof c.body === 'function' ? (c.body as () => unknown)() : c.body;
    const r = await s.http(c.method, path, body, c.headers);
    expect(r.status, r.text.slice(0, 300)).toBe(c.status);
    expect(r.json?.statusCode).toBe(c.status);
    expect(typeof r.json?.error).toBe('string');
    if (c.error) expect(r.json.error).toMatch(c.error);
    expect(snapshot()).toEqual(before);
    expect(existsSync(join(s.dir, 'x.img'))).toBe(false);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  test('the target still works after all of that', async () => {
    const r = await s.http('POST', NS, { device: { path: 'ram:1M' }, enable: 1 });
    expect(r.status).toBe(201);
    expect(s.svc.port(1)!.state).toBe('enabled');
  });
});
