/**
 * NVMe/TCP TLS in the configuration: ports' addr.tsas / addr.treq, hosts' nvmet_ts.tls_psk.
 * Errors name the JSON path and never echo a key.
 */
import { describe, expect, it } from 'vitest';
import { crc32 } from '@node-rs/crc32';
import { configToJson, parseConfig, resolveConfig } from '../../target/config/index.js';

const HOST = 'nqn.2014-08.org.nvmexpress:uuid:0f0e0d0c-0b0a-0908-0706-050403020100';
const PSK = 'NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:';
const port = (addr: Record<string, string>) => ({ portid: 1, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '4420', ...addr }, subsystems: [], referrals: [] });
const doc = (host: Record<string, unknown>, addr: Record<string, string> = {}) => ({ hosts: [{ nqn: HOST, ...host }], ports: [port(addr)], subsystems: [] });

describe('TLS configuration', () => {
  it('accepts tls1.3 ports (required / not required) and a host PSK, and round-trips them', () => {
    for (const treq of ['required', 'not required']) {
      const d = doc({ nvmet_ts: { tls_psk: PSK } }, { tsas: 'tls1.3', treq });
      const r = parseConfig(d);
      expect(r.ok, JSON.stringify(!r.ok && r.errors)).toBe(true);
      if (!r.ok) continue;
      expect(configToJson(r.config)).toMatchObject({ hosts: d.hosts, ports: [{ addr: { tsas: 'tls1.3', treq } }] });
      const res = resolveConfig(r.config);
      expect(res.hostTlsPsk[HOST]).toBe(PSK);
      expect(res.ports[0]).toMatchObject({ tsas: 'tls1.3', treq });
    }
  });

  it.each([
    [doc({ nvmet_ts: { tls_psk: PSK.replace('LrZ:', 'LrY:') } }), 'hosts[0].nvmet_ts.tls_psk', /CRC/],
    [doc({ nvmet_ts: { tls_psk: 'NVMeTLSkey-1:02:' + Buffer.alloc(52).toString('base64') + ':' } }), 'hosts[0].nvmet_ts.tls_psk', /./],
    [doc({}, { treq: 'required' }), 'ports[0].addr.treq', /tls1\.3/],
    [doc({}, { trtype: 'rdma', tsas: 'tls1.3' }), 'ports[0].addr.tsas', /NVMe\/TCP/],
    [doc({}, { tsas: 'connected' }), 'ports[0].addr.tsas', /not an NVMe\/TCP security type/],
  ])('refuses %#', (d, path, msg) => {
    const r = parseConfig(d);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const e = r.errors.find((x) => x.path === path);
    expect(e, JSON.stringify(r.errors)).toBeDefined();
    expect(e!.message).toMatch(msg);
    expect(JSON.stringify(r.errors)).not.toContain('VRLbtnN9AQb2WXW3c9');
  });

  it('a SHA-384 PSK (48 bytes, hash 02) is refused naming the unsupported suite', () => {
    const key48 = Buffer.alloc(48, 3);
    const b = Buffer.alloc(52);
    key48.copy(b);
    b.writeUInt32LE(crc32(key48), 48);
    const r = parseConfig(doc({ nvmet_ts: { tls_psk: `NVMeTLSkey-1:02:${b.toString('base64')}:` } }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]!.message).toMatch(/TLS_AES_256_GCM_SHA384/);
  });
});
