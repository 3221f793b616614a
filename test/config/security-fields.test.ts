/**
 * Issue 10 part 4: a configuration asking for a security feature nvmet-ts does not
 * implement is an error naming the JSON path — never a warning and a weaker
 * connection. Values that ask for nothing (tsas "none", empty keys, the default
 * hash nvmetcli dumps) still load.
 */
import { describe, expect, test } from 'vitest';
import { parseConfig, type JsonValue } from '../../target/config/index.js';
import { UNSUPPORTED_SECURITY_FIELDS } from '../../target/config/unsupported-security.js';

const HOST = 'nqn.2014-08.org.nvmexpress:uuid:2b9a7c1e-4d3f-4e5a-9b6c-7d8e9f0a1b2c';
const SUB = 'nqn.2024-01.io.example:sec';
const KEY = 'DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:';

type Doc = { hosts: Record<string, JsonValue>[]; ports: Record<string, JsonValue>[]; subsystems: Record<string, JsonValue>[] };

function doc(): Doc {
  return {
    hosts: [{ nqn: HOST }],
    ports: [
      {
        portid: 1,
        addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '4420', treq: 'not specified', tsas: 'none' },
        param: { inline_data_size: '16384' },
        subsystems: [SUB],
        referrals: [],
      },
    ],
    subsystems: [{ nqn: SUB, attr: { allow_any_host: '0' }, allowed_hosts: [HOST], namespaces: [{ nsid: 1, enable: 1, device: { path: 'ram:1M' } }] }],
  };
}

const refused: [string, (d: Doc) => void, string, RegExp][] = [
  // DH-HMAC-CHAP is implemented (hosts[].dhchap, issue 11); a key under its configfs file name is still never ignored.
  ['host dhchap_key (configfs name, not nvmetcli JSON)', (d) => (d.hosts[0]!['dhchap_key'] = KEY), 'hosts[0].dhchap_key', /DH-HMAC-CHAP settings go in the nvmetcli "dhchap" group \(dhchap\.key\)/],
  ['host dhchap_ctrl_key', (d) => (d.hosts[0]!['dhchap_ctrl_key'] = KEY), 'hosts[0].dhchap_ctrl_key', /dhchap\.ctrl_key/],
  ['host TLS PSK', (d) => (d.hosts[0]!['tls_key'] = 'NVMeTLSkey-1:01:abc:'), 'hosts[0].tls_key', /TLS/],
  // NVMe/TCP TLS 1.3 is implemented (addr.tsas "tls1.3", issue 11); what it does not cover stays refused.
  ['port tsas tls1.3 on a non-TCP port', (d) => Object.assign(d.ports[0]!['addr'] as Record<string, JsonValue>, { trtype: 'rdma', tsas: 'tls1.3' }), 'ports[0].addr.tsas', /NVMe\/TCP/],
  ['port tsas connected on a TCP port', (d) => ((d.ports[0]!['addr'] as Record<string, JsonValue>)['tsas'] = 'connected'), 'ports[0].addr.tsas', /NVMe\/TCP TLS/],
  ['port treq required without tls1.3', (d) => ((d.ports[0]!['addr'] as Record<string, JsonValue>)['treq'] = 'required'), 'ports[0].addr.treq', /TLS/],
  ['port tls_key', (d) => (d.ports[0]!['tls_key'] = 'k'), 'ports[0].tls_key', /TLS/],
];

describe('security fields nvmet-ts does not implement are errors naming the JSON path', () => {
  for (const [name, edit, path, msg] of refused) {
    test(name, () => {
      const d = doc();
      edit(d);
      const r = parseConfig(d, { topologyValidator: false });
      expect(r.ok).toBe(false);
      if (r.ok) return;
      const e = r.errors.find((x) => x.path === path);
      expect(e, JSON.stringify(r.errors)).toBeDefined();
      expect(e!.message).toMatch(msg);
      // Never only a warning.
      expect(r.warnings.some((w) => w.path === path)).toBe(false);
    });
  }

  const accepted: [string, (d: Doc) => void][] = [
    ['tsas none', (d) => ((d.ports[0]!['addr'] as Record<string, JsonValue>)['tsas'] = 'none')],
    ['tsas tls1.3 with treq required (implemented)', (d) => Object.assign(d.ports[0]!['addr'] as Record<string, JsonValue>, { tsas: 'tls1.3', treq: 'required' })],
    ['treq not required', (d) => ((d.ports[0]!['addr'] as Record<string, JsonValue>)['treq'] = 'not required')],
    ['empty tls_key', (d) => (d.hosts[0]!['tls_key'] = '')],
  ];
  for (const [name, edit] of accepted) {
    test(`${name} asks for nothing and loads`, () => {
      const d = doc();
      edit(d);
      const r = parseConfig(d, { topologyValidator: false });
      expect(r.ok, JSON.stringify(!r.ok && r.errors)).toBe(true);
    });
  }

  test('the table is the one place: every row names a feature and an object path', () => {
    for (const f of UNSUPPORTED_SECURITY_FIELDS) {
      expect(f.where).toMatch(/^(hosts|ports|subsystems)\[\]/);
      expect(f.feature).toMatch(/TLS/);
    }
  });
});
