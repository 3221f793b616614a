/**
 * Every validation error names the JSON path of the value at fault. Table-driven:
 * each row takes a valid config, breaks one thing, and says which path must be
 * reported with which message.
 */
import { describe, expect, it } from 'vitest';
import { formatIssue, parseConfig, type ParseOptions } from '../../target/config/index.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function base(): { [k: string]: Json } {
  return {
    hosts: [{ nqn: 'nqn.2014-08.org.nvmexpress:uuid:3b1c6a52-9d0e-4f7a-8c21-5e6f7a8b9c0d' }],
    ports: [
      {
        addr: { adrfam: 'ipv4', traddr: '127.0.0.1', treq: 'not specified', trsvcid: '4420', trtype: 'tcp' },
        param: { inline_data_size: '16384', allow_p2pmem: '0' },
        nvmet_ts: { nic: '0000:03:00.0' },
        portid: 1,
        referrals: [],
        subsystems: ['nqn.2024-01.io.example:a'],
      },
      {
        addr: { adrfam: 'ipv6', traddr: '::1', treq: 'not specified', trsvcid: '4421', trtype: 'tcp' },
        portid: 2,
        referrals: [
          {
            addr: { adrfam: 'ipv4', portid: '1', traddr: '10.0.0.2', treq: 'not specified', trsvcid: '4420', trtype: 'rdma' },
            enable: 1,
            name: 'peer',
          },
        ],
        subsystems: ['nqn.2024-01.io.example:a', 'nqn.2024-01.io.example:b'],
      },
    ],
    subsystems: [
      {
        nqn: 'nqn.2024-01.io.example:a',
        attr: { allow_any_host: '1', serial: 'abc123', model: 'nvmet-ts', version: '1.3', cntlid_min: '1', cntlid_max: '65519' },
        allowed_hosts: [],
        namespaces: [
          { nsid: 1, enable: 1, device: { path: 'ram:1G', uuid: '4e2f9d1c-6a3b-4c5d-8e7f-901a2b3c4d01' }, nvmet_ts: { nvme: '0000:04:00.0', block_size: 512 } },
          { nsid: 2, enable: 1, device: { path: '/var/lib/nvmet/ns2.img' }, p2pmem: true },
        ],
      },
      {
        nqn: 'nqn.2024-01.io.example:b',
        attr: { allow_any_host: '0' },
        allowed_hosts: ['nqn.2014-08.org.nvmexpress:uuid:3b1c6a52-9d0e-4f7a-8c21-5e6f7a8b9c0d'],
        namespaces: [{ nsid: 7, enable: 0, device: { path: '(null)' } }],
      },
    ],
  };
}

/** Set (or with `undefined`, delete) the value at a dotted/indexed path in a JSON tree. */
function setAt(doc: Json, path: string, value: Json | undefined): void {
  const parts = path.match(/[^.[\]]+/g)!;
  let cur = doc as { [k: string]: Json } | Json[];
  for (const p of parts.slice(0, -1)) cur = (cur as Record<string, Json>)[p] as { [k: string]: Json };
  const last = parts[parts.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else (cur as Record<string, Json>)[last] = value;
}

const big = 'x'.repeat(1_000_000);

// [description, mutation path, new value (undefined = delete), expected error path, message pattern]
const cases: [string, string, Json | undefined, string, RegExp][] = [
  // --- types
  ['root not an object', '', null, '$', /configuration must be an object, got null/],
  ['hosts not an array', 'hosts', {}, 'hosts', /must be an array, got object/],
  ['host not an object', 'hosts[0]', 'nqn.x', 'hosts[0]', /host must be an object, got string/],
  ['host nqn missing', 'hosts[0].nqn', undefined, 'hosts[0].nqn', /required field is missing/],
  ['host nqn number', 'hosts[0].nqn', 5, 'hosts[0].nqn', /NQN must be a string, got number/],
  ['ports not an array', 'ports', 'tcp', 'ports', /must be an array, got string/],
  ['subsystems not an array', 'subsystems', 1, 'subsystems', /must be an array, got number/],
  ['attr not an object', 'subsystems[0].attr', [], 'subsystems[0].attr', /attr must be an object, got array/],
  ['namespaces not an array', 'subsystems[0].namespaces', {}, 'subsystems[0].namespaces', /must be an array/],
  ['allowed_hosts not an array', 'subsystems[1].allowed_hosts', 'h', 'subsystems[1].allowed_hosts', /must be an array/],
  ['device not an object', 'subsystems[0].namespaces[0].device', 'ram:1G', 'subsystems[0].namespaces[0].device', /device must be an object/],
  ['addr not an object', 'ports[0].addr', null, 'ports[0].addr', /addr must be an object, got null/],
  ['topology a number', 'topology', 3, 'topology', /object \(inline topology\) or a topology file path/],
  ['topology empty path', 'topology', '', 'topology', /must not be empty/],

  // --- namespaces
  ['nsid missing', 'subsystems[0].namespaces[1].nsid', undefined, 'subsystems[0].namespaces[1].nsid', /required field is missing/],
  ['nsid 0', 'subsystems[0].namespaces[1].nsid', 0, 'subsystems[0].namespaces[1].nsid', /must be an integer 1\.\.4294967294/],
  ['nsid 0xffffffff', 'subsystems[0].namespaces[1].nsid', 0xffffffff, 'subsystems[0].namespaces[1].nsid', /must be an integer 1\.\.4294967294/],
  ['nsid fractional', 'subsystems[0].namespaces[1].nsid', 1.5, 'subsystems[0].namespaces[1].nsid', /must be an integer 1\.\.4294967294/],
  ['nsid bool', 'subsystems[0].namespaces[1].nsid', true, 'subsystems[0].namespaces[1].nsid', /got boolean/],
  ['nsid duplicate', 'subsystems[0].namespaces[1].nsid', 1, 'subsystems[0].namespaces[1].nsid', /duplicate nsid 1 \(also namespaces\[0\]\)/],
  ['enable not bool', 'subsystems[0].namespaces[0].enable', 'maybe', 'subsystems[0].namespaces[0].enable', /must be a boolean/],
  ['enabled without path', 'subsystems[0].namespaces[0].device.path', undefined, 'subsystems[0].namespaces[0].device.path', /enabled namespace needs a backing/],
  ['ram size garbage', 'subsystems[0].namespaces[0].device.path', 'ram:lots', 'subsystems[0].namespaces[0].device.path', /RAM backing must be a size like/],
  ['ram size zero', 'subsystems[0].namespaces[0].device.path', 'ram:0', 'subsystems[0].namespaces[0].device.path', /greater than 0/],
  ['ram size fractional unit', 'subsystems[0].namespaces[0].device.path', 'ram:1.5G', 'subsystems[0].namespaces[0].device.path', /must be a size/],
  ['ram size huge', 'subsystems[0].namespaces[0].device.path', 'ram:99999999999T', 'subsystems[0].namespaces[0].device.path', /too large/],
  ['ram not block multiple', 'subsystems[0].namespaces[0].device.path', 'ram:1000', 'subsystems[0].namespaces[0].device.path', /not a multiple of the 512-byte block size/],
  ['path with NUL', 'subsystems[0].namespaces[1].device.path', '/tmp/a\u0000b', 'subsystems[0].namespaces[1].device.path', /NUL/],
  ['path too long', 'subsystems[0].namespaces[1].device.path', '/' + 'a'.repeat(5000), 'subsystems[0].namespaces[1].device.path', /at most 4095 characters/],
  ['path number', 'subsystems[0].namespaces[1].device.path', 42, 'subsystems[0].namespaces[1].device.path', /must be a string, got number/],
  ['uuid malformed', 'subsystems[0].namespaces[0].device.uuid', 'not-a-uuid', 'subsystems[0].namespaces[0].device.uuid', /must be a UUID/],
  ['nguid short', 'subsystems[0].namespaces[0].device.nguid', '0011', 'subsystems[0].namespaces[0].device.nguid', /16 hex bytes/],
  ['nguid trailing junk', 'subsystems[0].namespaces[0].device.nguid', '00112233445566778899aabbccddeeff00', 'subsystems[0].namespaces[0].device.nguid', /16 hex bytes/],
  ['duplicate uuid', 'subsystems[0].namespaces[1].device.uuid', '4E2F9D1C-6A3B-4C5D-8E7F-901A2B3C4D01', 'subsystems[0].namespaces[1].device.uuid', /duplicate uuid/],
  ['block size 1024', 'subsystems[0].namespaces[0].nvmet_ts.block_size', 1024, 'subsystems[0].namespaces[0].nvmet_ts.block_size', /must be 512 or 4096/],
  ['nvme placement not a BDF', 'subsystems[0].namespaces[0].nvmet_ts.nvme', 'ssd0', 'subsystems[0].namespaces[0].nvmet_ts.nvme', /PCI address/],
  ['p2pmem garbage', 'subsystems[0].namespaces[1].p2pmem', 'sometimes', 'subsystems[0].namespaces[1].p2pmem', /false, true, or a p2pmem provider/],
  ['p2pmem bad BDF', 'subsystems[0].namespaces[1].p2pmem', '0000:03:20.0', 'subsystems[0].namespaces[1].p2pmem', /false, true, or a p2pmem provider/],
  ['ana_grpid too big', 'subsystems[0].namespaces[0].ana_grpid', 129, 'subsystems[0].namespaces[0].ana_grpid', /1\.\.128/],
  ['ana.grpid zero', 'subsystems[0].namespaces[0].ana', { grpid: '0' }, 'subsystems[0].namespaces[0].ana.grpid', /1\.\.128/],
  ['resv.enable garbage', 'subsystems[0].namespaces[0].resv', { enable: 'x' }, 'subsystems[0].namespaces[0].resv.enable', /boolean/],

  // --- subsystems
  ['subsystem nqn missing', 'subsystems[1].nqn', undefined, 'subsystems[1].nqn', /required field is missing/],
  ['subsystem nqn empty', 'subsystems[1].nqn', '', 'subsystems[1].nqn', /must not be empty/],
  ['subsystem nqn too long', 'subsystems[1].nqn', 'nqn.2024-01.io.example:' + 'n'.repeat(201), 'subsystems[1].nqn', /at most 223 bytes, got 224/],
  ['subsystem nqn multibyte too long', 'subsystems[1].nqn', 'nqn.2024-01.io.example:' + 'é'.repeat(101), 'subsystems[1].nqn', /at most 223 bytes, got 225/],
  ['subsystem nqn huge', 'subsystems[1].nqn', big, 'subsystems[1].nqn', /at most 223 bytes, got 1000000/],
  ['subsystem nqn slash', 'subsystems[1].nqn', 'nqn.2024-01.io.example:a/b', 'subsystems[1].nqn', /must not contain '\/'/],
  ['subsystem nqn dotdot', 'subsystems[1].nqn', '..', 'subsystems[1].nqn', /must not be/],
  ['subsystem nqn control char', 'subsystems[1].nqn', 'nqn.2024-01.io.example:a\nb', 'subsystems[1].nqn', /control characters/],
  ['subsystem nqn space', 'subsystems[1].nqn', 'nqn.2024-01.io.example:a b', 'subsystems[1].nqn', /whitespace/],
  ['discovery nqn', 'subsystems[1].nqn', 'nqn.2014-08.org.nvmexpress.discovery', 'subsystems[1].nqn', /discovery subsystem NQN/],
  ['duplicate subsystem', 'subsystems[1].nqn', 'nqn.2024-01.io.example:a', 'subsystems[1].nqn', /duplicate subsystem NQN \(also subsystems\[0\]\)/],
  ['serial too long', 'subsystems[0].attr.serial', '123456789012345678901', 'subsystems[0].attr.serial', /at most 20 characters, got 21/],
  ['serial empty', 'subsystems[0].attr.serial', '', 'subsystems[0].attr.serial', /must not be empty/],
  ['serial non-ascii', 'subsystems[0].attr.serial', 'séríal', 'subsystems[0].attr.serial', /printable ASCII/],
  ['serial huge', 'subsystems[0].attr.serial', big, 'subsystems[0].attr.serial', /at most 20 characters, got 1000000/],
  ['model too long', 'subsystems[0].attr.model', 'm'.repeat(41), 'subsystems[0].attr.model', /at most 40 characters, got 41/],
  ['model number', 'subsystems[0].attr.model', 7, 'subsystems[0].attr.model', /must be a string, got number/],
  ['firmware too long', 'subsystems[0].attr.firmware', '123456789', 'subsystems[0].attr.firmware', /at most 8/],
  ['version garbage', 'subsystems[0].attr.version', 'latest', 'subsystems[0].attr.version', /version like/],
  ['version minor too big', 'subsystems[0].attr.version', '1.256', 'subsystems[0].attr.version', /minor and tertiary 0\.\.255/],
  ['allow_any_host garbage', 'subsystems[0].attr.allow_any_host', 'nonsense', 'subsystems[0].attr.allow_any_host', /must be a boolean/],
  ['cntlid_min 0', 'subsystems[0].attr.cntlid_min', '0', 'subsystems[0].attr.cntlid_min', /1\.\.65519/],
  ['cntlid_max reserved', 'subsystems[0].attr.cntlid_max', '65520', 'subsystems[0].attr.cntlid_max', /1\.\.65519/],
  ['cntlid_min > max', 'subsystems[0].attr', { cntlid_min: '100', cntlid_max: '50' }, 'subsystems[0].attr.cntlid_min', /cntlid_min \(100\) must not exceed cntlid_max \(50\)/],
  ['cntlid_max below default min', 'subsystems[1].attr.cntlid_max', '0', 'subsystems[1].attr.cntlid_max', /1\.\.65519/],
  ['cntlid hex not allowed', 'subsystems[0].attr.cntlid_min', '0x10', 'subsystems[0].attr.cntlid_min', /integer 1\.\.65519/],
  ['ieee_oui too big', 'subsystems[0].attr.ieee_oui', '0x1000000', 'subsystems[0].attr.ieee_oui', /0\.\.16777215/],
  ['qid_max too big', 'subsystems[0].attr.qid_max', '129', 'subsystems[0].attr.qid_max', /1\.\.128/],
  ['allow_any_host with hosts', 'subsystems[1].attr.allow_any_host', '1', 'subsystems[1].attr.allow_any_host', /allowed_hosts lists hosts/],
  ['allowed host undefined', 'subsystems[1].allowed_hosts[0]', 'nqn.2024-01.io.example:stranger', 'subsystems[1].allowed_hosts[0]', /not defined in hosts/],
  ['allowed host duplicate', 'subsystems[1].allowed_hosts[1]', 'nqn.2014-08.org.nvmexpress:uuid:3b1c6a52-9d0e-4f7a-8c21-5e6f7a8b9c0d', 'subsystems[1].allowed_hosts[1]', /duplicate host NQN/],
  ['passthru (reject mode)', 'subsystems[0].passthru', [{ device: { path: '/dev/nvme0' } }], 'subsystems[0].passthru', /passthru subsystems are not supported/],

  // --- hosts
  ['duplicate host', 'hosts[1]', { nqn: 'nqn.2014-08.org.nvmexpress:uuid:3b1c6a52-9d0e-4f7a-8c21-5e6f7a8b9c0d' }, 'hosts[1].nqn', /duplicate host NQN \(also hosts\[0\]\)/],

  // --- ports
  ['portid missing', 'ports[1].portid', undefined, 'ports[1].portid', /required field is missing/],
  ['portid negative', 'ports[1].portid', -1, 'ports[1].portid', /0\.\.65535/],
  ['portid too big', 'ports[1].portid', 65536, 'ports[1].portid', /0\.\.65535/],
  ['portid duplicate', 'ports[1].portid', 1, 'ports[1].portid', /duplicate portid 1 \(also ports\[0\]\)/],
  ['trtype unknown', 'ports[0].addr.trtype', 'carrier-pigeon', 'ports[0].addr.trtype', /must be one of "rdma", "fc", "tcp", "pci", "loop"/],
  ['trtype missing with subsystems', 'ports[0].addr.trtype', undefined, 'ports[0].addr.trtype', /required to export subsystems/],
  ['adrfam wrong for tcp', 'ports[0].addr.adrfam', 'ib', 'ports[0].addr.adrfam', /must be "ipv4" or "ipv6" for trtype "tcp"/],
  ['adrfam unknown', 'ports[0].addr.adrfam', 'ipv5', 'ports[0].addr.adrfam', /must be one of/],
  ['traddr not ipv4', 'ports[0].addr.traddr', '127.0.0.256', 'ports[0].addr.traddr', /IPv4 address/],
  ['traddr hostname', 'ports[0].addr.traddr', 'localhost', 'ports[0].addr.traddr', /IPv4 address/],
  ['traddr v4 on ipv6 port', 'ports[1].addr.traddr', '127.0.0.1', 'ports[1].addr.traddr', /IPv6 address/],
  ['traddr empty', 'ports[0].addr.traddr', '', 'ports[0].addr.traddr', /required for trtype "tcp"/],
  ['traddr huge', 'ports[0].addr.traddr', big, 'ports[0].addr.traddr', /at most 255 characters/],
  ['traddr whitespace', 'ports[0].addr.traddr', '127.0.0.1 ', 'ports[0].addr.traddr', /whitespace/],
  ['trsvcid not numeric', 'ports[0].addr.trsvcid', 'nvme', 'ports[0].addr.trsvcid', /decimal port number 0\.\.65535/],
  ['trsvcid too big', 'ports[0].addr.trsvcid', '65536', 'ports[0].addr.trsvcid', /0\.\.65535/],
  ['trsvcid missing', 'ports[0].addr.trsvcid', undefined, 'ports[0].addr.trsvcid', /required for trtype "tcp"/],
  ['trsvcid too long', 'ports[0].addr.trsvcid', '1'.repeat(32), 'ports[0].addr.trsvcid', /at most 31 characters/],
  ['treq unknown', 'ports[0].addr.treq', 'mandatory', 'ports[0].addr.treq', /"not specified", "required", "not required"/],
  ['tsas unknown', 'ports[0].addr.tsas', 'tls1.2', 'ports[0].addr.tsas', /must be one of/],
  ['inline_data_size garbage', 'ports[0].param.inline_data_size', '16k', 'ports[0].param.inline_data_size', /integer -1\.\.1048576/],
  ['inline_data_size too big', 'ports[0].param.inline_data_size', '2097152', 'ports[0].param.inline_data_size', /integer -1\.\.1048576/],
  ['allow_p2pmem garbage', 'ports[0].param.allow_p2pmem', 'perhaps', 'ports[0].param.allow_p2pmem', /boolean/],
  ['nic not a BDF', 'ports[0].nvmet_ts.nic', 'eth0', 'ports[0].nvmet_ts.nic', /PCI address/],
  ['port links unknown subsystem', 'ports[0].subsystems[0]', 'nqn.2024-01.io.example:nope', 'ports[0].subsystems[0]', /not defined in subsystems/],
  ['port links subsystem twice', 'ports[1].subsystems[1]', 'nqn.2024-01.io.example:a', 'ports[1].subsystems[1]', /linked twice \(also subsystems\[0\]\)/],
  ['two ports same address', 'ports[1].addr', { adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '4420', trtype: 'tcp' }, 'ports[1].addr', /same address as ports\[0\]/],
  ['referral name missing', 'ports[1].referrals[0].name', undefined, 'ports[1].referrals[0].name', /required field is missing/],
  ['referral name slash', 'ports[1].referrals[0].name', 'a/b', 'ports[1].referrals[0].name', /without '\/'/],
  ['referral portid bad', 'ports[1].referrals[0].addr.portid', 'x', 'ports[1].referrals[0].addr.portid', /0\.\.65535/],
  ['referral traddr bad', 'ports[1].referrals[0].addr.traddr', '10.0.0', 'ports[1].referrals[0].addr.traddr', /IPv4 address/],
  ['referral enable bad', 'ports[1].referrals[0].enable', 2, 'ports[1].referrals[0].enable', /boolean/],
  ['referral duplicate name', 'ports[1].referrals[1]', { name: 'peer', addr: {} }, 'ports[1].referrals[1].name', /duplicate referral name/],
  ['ana group grpid missing', 'ports[0].ana_groups', [{ ana: { state: 'optimized' } }], 'ports[0].ana_groups[0].grpid', /required field is missing/],
  ['ana group bad state', 'ports[0].ana_groups', [{ grpid: 1, ana: { state: 'happy' } }], 'ports[0].ana_groups[0].ana.state', /"optimized", "non-optimized"/],
  ['ana group duplicate', 'ports[0].ana_groups', [{ grpid: 1, ana: {} }, { grpid: 1, ana: {} }], 'ports[0].ana_groups[1].grpid', /duplicate ANA group id/],

  // --- unknown fields (reject mode, as the management API runs it)
  ['unknown root field', 'colour', 'blue', 'colour', /unknown field/],
  ['unknown port field', 'ports[0].speed', '100G', 'ports[0].speed', /unknown field/],
  ['unknown attr', 'subsystems[0].attr.allow_any_hosts', '1', 'subsystems[0].attr.allow_any_hosts', /unknown field/],
  ['unknown namespace field', 'subsystems[0].namespaces[0].buffered_io', 1, 'subsystems[0].namespaces[0].buffered_io', /unknown field/],
  ['unknown key with odd name', 'ports[0].addr.some key', 1, 'ports[0].addr["some key"]', /unknown field/],
  ['__proto__ key', 'hosts[0].__proto__', { polluted: true }, 'hosts[0].__proto__', /unknown field/],
];

describe('every validation error names its JSON path', () => {
  it.each(cases)('%s', (_name, path, value, errPath, pattern) => {
    let doc: Json = base();
    if (path === '') doc = value as Json;
    else if (path.endsWith('__proto__')) {
      // JSON.parse makes "__proto__" an own key; plain assignment would not.
      doc = JSON.parse(JSON.stringify(doc).replace('"hosts":[{', `"hosts":[{"__proto__":${JSON.stringify(value)},`)) as Json;
    } else setAt(doc, path, value);
    expect(parseConfig(base(), { unknownFields: 'reject' }).ok).toBe(true);
    const r = parseConfig(doc, { unknownFields: 'reject' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const hit = r.errors.find((e) => e.path === errPath);
    expect(hit, `errors were:\n${r.errors.map(formatIssue).join('\n')}`).toBeDefined();
    expect(hit!.message).toMatch(pattern);
    // Huge inputs are not echoed back in full.
    for (const e of r.errors) expect(formatIssue(e).length).toBeLessThan(400);
  });
});

describe('error reporting', () => {
  it('formats issues as "path: message"', () => {
    const doc = base();
    setAt(doc, 'subsystems[0].namespaces[1].nsid', 0);
    const r = parseConfig(doc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatIssue)).toContain('subsystems[0].namespaces[1].nsid: must be an integer 1..4294967294, got 0');
  });

  it('reports every independent error at once', () => {
    const doc = base();
    setAt(doc, 'subsystems[0].attr.serial', '');
    setAt(doc, 'ports[0].addr.traddr', 'nowhere');
    setAt(doc, 'subsystems[1].namespaces[0].nsid', -3);
    const r = parseConfig(doc);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.path).sort()).toEqual(
        ['ports[0].addr.traddr', 'subsystems[0].attr.serial', 'subsystems[1].namespaces[0].nsid'].sort(),
      );
    }
  });

  it('does not cascade: a broken subsystem NQN does not also report the ports linking it', () => {
    const doc = base();
    setAt(doc, 'subsystems[0].nqn', 'bad nqn');
    const r = parseConfig(doc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(['subsystems[0].nqn']);
  });

  it('caps the number of reported errors', () => {
    const doc = base();
    setAt(doc, 'hosts', Array.from({ length: 1000 }, () => ({ nqn: 7 })));
    const r = parseConfig(doc, { maxIssues: 50 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.length).toBe(51);
      expect(r.errors[50]).toEqual({ path: '$', message: '950 more errors not shown' });
    }
  });

  it('refuses values nested too deeply in unknown fields', () => {
    let deep: Json = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    const doc = base();
    setAt(doc, 'ports[0].extra_stuff', deep);
    const r = parseConfig(doc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ path: 'ports[0].extra_stuff', message: expect.stringMatching(/nested deeper than 64/) });
  });

  it('rejects non-JSON values handed in programmatically', () => {
    const doc = base() as Record<string, unknown>;
    (doc.ports as Record<string, unknown>[])[0]!.when = new Date(0);
    (doc.ports as Record<string, unknown>[])[1]!.fn = () => 1;
    const r = parseConfig(doc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(['ports[0].when', 'ports[1].fn']);
  });
});

describe('strict backing paths (management API)', () => {
  const opts: ParseOptions = { unknownFields: 'reject', backingPaths: { allowedDirs: ['/var/lib/nvmet'] } };
  const at = 'subsystems[0].namespaces[1].device.path';
  it.each([
    ['/var/lib/nvmet/../../etc/shadow', /must not contain "\.\." segments/],
    ['../etc/passwd', /must not contain "\.\." segments/],
    ['/etc/passwd', /must be inside "\/var\/lib\/nvmet"/],
    ['/var/lib/nvmet', /must be inside/],
    ['/var/lib/nvmetx/a.img', /must be inside/],
  ])('%s is refused', (p, pattern) => {
    const doc = base();
    setAt(doc, at, p);
    const r = parseConfig(doc, opts);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.find((e) => e.path === at)?.message).toMatch(pattern);
  });

  it.each(['/var/lib/nvmet/ns2.img', 'sub/dir/ns.img', 'ram:1G'])('%s is allowed', (p) => {
    const doc = base();
    setAt(doc, at, p);
    expect(parseConfig(doc, opts).ok).toBe(true);
  });

  it('without a policy, a local admin config may point anywhere (no NUL)', () => {
    const doc = base();
    setAt(doc, at, '../images/ns2.img');
    expect(parseConfig(doc).ok).toBe(true);
  });
});
