/**
 * NVMe/TCP TLS 1.3 (PSK) with real sockets: the TypeScript initiator against the
 * in-process target. A port with TSAS tls1.3 runs TLS before ICReq; identities v0 and v1
 * as a Linux host presents them; digests inside TLS; a plain host refused by a "required"
 * port and accepted by a "not required" one; a wrong key refused; the discovery log
 * advertises SECTYPE TLS 1.3; no session tickets are sent (kTLS hosts cannot read them).
 */
import { afterEach, describe, expect, test } from 'vitest';
import * as tls from 'node:tls';
import { connect, discover, TransportError } from '../../initiator/index.js';
import type { Nvmet } from '../../target/core/nvmet.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { TcpTransport } from '../../target/tcp/index.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { silentLogger } from '../../target/core/log.js';
import { TcpSecType, Treq } from '../../src/nvme/discovery-log.js';
import { DISCOVERY_NQN } from '../../src/nvme/fabrics.js';
import { formatPskIdentity, formatTlsPsk, hostPskIdentity, parseTlsPsk, tlsPsk } from '../../src/nvme/tls/psk.js';
import { tlsTicketsDisabled } from '../../target/tcp/tls-accept.js';
import { SUBNQN, HOSTNQN, HOSTID, pattern } from './harness.js';

const KEY = 'NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:';
const OTHER = formatTlsPsk({ hmac: 1, key: Uint8Array.from({ length: 32 }, (_, i) => i) });

let nvmet: Nvmet | null = null;
afterEach(async () => {
  await nvmet?.shutdown();
  nvmet = null;
});

async function tlsTarget(treq: number): Promise<number> {
  nvmet = createNvmet({ logger: silentLogger });
  nvmet.registerTransport(new TcpTransport({ logger: silentLogger }));
  nvmet.addHost(HOSTNQN);
  nvmet.setHostTlsPsk(HOSTNQN, parseTlsPsk(KEY));
  const subsys = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: false, allowedHosts: [HOSTNQN], serial: 'TLS0001', model: 'nvmet-ts tls' });
  await subsys.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 16 << 20 }, blockSize: 512 }).enable();
  const port = nvmet.addPort({ portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0', treq, tsas: TcpSecType.Tls13 });
  port.addSubsystem(subsys);
  await port.enable();
  return Number(port.addr.trsvcid);
}

const base = (port: number) => ({ host: '127.0.0.1', port, subnqn: SUBNQN, hostnqn: HOSTNQN, hostid: HOSTID, queues: 2, queueDepth: 8, kato: 0 });

async function verified(c: Awaited<ReturnType<typeof connect>>): Promise<void> {
  const data = pattern(64 * 1024, 5);
  await c.write(1, 8, data);
  expect(Buffer.from(await c.read(1, 8, 128)).equals(Buffer.from(data))).toBe(true);
}

describe('NVMe/TCP TLS 1.3', () => {
  test('this process sends no TLS session tickets (OpenSSL NumTickets = 0)', async () => {
    expect(await tlsTicketsDisabled()).toBe(true);
  });

  for (const v of [0, 1] as const) {
    test(`identity v${v}: admin and I/O queues over TLS, verified I/O`, async () => {
      const port = await tlsTarget(Treq.SecureChannelRequired);
      const c = await connect({ ...base(port), tlsKey: KEY, tlsIdentityVersion: v });
      await verified(c);
      await c.close();
    });
  }

  test('header and data digests inside TLS', async () => {
    const port = await tlsTarget(Treq.SecureChannelRequired);
    const c = await connect({ ...base(port), tlsKey: KEY, hdgst: true, ddgst: true });
    await verified(c);
    await c.close();
  });

  test('a plain host is refused by a "required" port', async () => {
    const port = await tlsTarget(Treq.SecureChannelRequired);
    const err = await connect({ ...base(port), connectTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(nvmet!.subsystems.flatMap((s) => s.controllers)).toHaveLength(0);
  });

  test('a "not required" port takes both TLS and plain hosts', async () => {
    const port = await tlsTarget(Treq.SecureChannelNotRequired);
    const t = await connect({ ...base(port), tlsKey: KEY });
    await verified(t);
    await t.close();
    const p = await connect(base(port));
    await verified(p);
    await p.close();
  });

  test('a wrong PSK fails the handshake', async () => {
    const port = await tlsTarget(Treq.SecureChannelRequired);
    const err = await connect({ ...base(port), tlsKey: OTHER, connectTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
  });

  test('an identity for a SHA-384 suite or an unknown host is refused', async () => {
    const port = await tlsTarget(Treq.SecureChannelRequired);
    const key = tlsPsk(parseTlsPsk(KEY), hostPskIdentity(parseTlsPsk(KEY), HOSTNQN, SUBNQN, 0));
    for (const identity of [`NVMe0R02 ${HOSTNQN} ${SUBNQN}`, `NVMe0R01 nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000000 ${SUBNQN}`, 'client']) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port, minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256', checkServerIdentity: () => undefined, pskCallback: () => ({ psk: Buffer.from(key), identity }) });
        s.on('secureConnect', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      expect(ok, identity).toBe(false);
    }
    // The right identity with the same key works (the test's TLS client is sound).
    const id = formatPskIdentity(hostPskIdentity(parseTlsPsk(KEY), HOSTNQN, SUBNQN, 0));
    const ok = await new Promise<boolean>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256', checkServerIdentity: () => undefined, pskCallback: () => ({ psk: Buffer.from(key), identity: id }) });
      s.on('secureConnect', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    expect(ok).toBe(true);
  });

  test('TLS 1.2, or TLS 1.3 with a suite other than TLS_AES_128_GCM_SHA256, is refused: nothing weaker is negotiated', async () => {
    const port = await tlsTarget(Treq.SecureChannelRequired);
    const id = formatPskIdentity(hostPskIdentity(parseTlsPsk(KEY), HOSTNQN, SUBNQN, 0));
    const key = Buffer.from(tlsPsk(parseTlsPsk(KEY), hostPskIdentity(parseTlsPsk(KEY), HOSTNQN, SUBNQN, 0)));
    const handshake = (o: tls.ConnectionOptions): Promise<string> =>
      new Promise((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port, checkServerIdentity: () => undefined, pskCallback: () => ({ psk: key, identity: id }), ...o });
        s.on('secureConnect', () => {
          const r = `${s.getProtocol()} ${s.getCipher().name}`;
          s.destroy();
          resolve(r);
        });
        s.on('error', () => resolve('refused'));
      });
    // TP 8011 defines NVMe/TCP TLS for TLS 1.3 only; a TLS 1.2 PSK suite is not an NVMe/TCP secure channel.
    expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'PSK-AES128-GCM-SHA256' })).toBe('refused');
    expect(await handshake({ minVersion: 'TLSv1.3', ciphers: 'TLS_AES_256_GCM_SHA384' })).toBe('refused');
    expect(await handshake({ minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' })).toBe('refused');
    // The same client with the supported suite gets through (the refusals are about the suite).
    expect(await handshake({ minVersion: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256' })).toBe('TLSv1.3 TLS_AES_128_GCM_SHA256');
    expect(nvmet!.subsystems.flatMap((x) => x.controllers)).toHaveLength(0);
  });

  test('the host NQN of the PSK identity is not compared with Connect\'s, as in Linux nvmet (allowed_hosts still applies)', async () => {
    // Linux nvmet-tcp keeps only the key serial of the handshake (nvmet_tcp_tls_handshake_done:
    // queue->tls_pskid; 6.15+ sq->tls_key) and nvmet_execute_admin_connect checks the Connect
    // host NQN against allowed_hosts only; nothing compares it with the PSK identity.
    const port = await tlsTarget(Treq.SecureChannelRequired);
    const other = 'nqn.2014-08.org.nvmexpress:uuid:0e0e0e0e-0000-4000-8000-00000000000b';
    const stranger = 'nqn.2014-08.org.nvmexpress:uuid:0e0e0e0e-0000-4000-8000-00000000000c';
    nvmet!.addHost(other);
    nvmet!.subsystems.find((x) => x.nqn === SUBNQN)!.allowHost(other);
    const configured = parseTlsPsk(KEY);
    const pid = hostPskIdentity(configured, HOSTNQN, SUBNQN, 0);
    const asHost = { identity: formatPskIdentity(pid), key: tlsPsk(configured, pid) };
    const c = await connect({ ...base(port), hostnqn: other, hostid: '0e0e0e0e-0000-4000-8000-00000000000b', tls: asHost });
    expect(nvmet!.subsystems.flatMap((x) => x.controllers).map((x) => x.hostnqn)).toEqual([other]);
    await verified(c);
    await c.close();
    const err = await connect({ ...base(port), hostnqn: stranger, hostid: '0e0e0e0e-0000-4000-8000-00000000000c', tls: asHost, connectTimeoutMs: 3000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(nvmet!.subsystems.flatMap((x) => x.controllers)).toHaveLength(0);
  });

  test('the discovery log advertises TSAS SECTYPE TLS 1.3 and TREQ', async () => {
    const port = await tlsTarget(Treq.SecureChannelRequired);
    // Discovery over TLS: the identity names the discovery NQN.
    const log = await discover({ host: '127.0.0.1', port, hostnqn: HOSTNQN, tlsKey: KEY });
    const entries = log.entries.filter((e) => e.subnqn === SUBNQN || e.subnqn === DISCOVERY_NQN);
    expect(entries.length).toBeGreaterThanOrEqual(1);
    for (const e of entries) {
      expect(e.tsas[0]).toBe(TcpSecType.Tls13);
      expect(e.treq & 3).toBe(Treq.SecureChannelRequired);
    }
  });
});
