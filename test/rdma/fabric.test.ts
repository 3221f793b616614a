/**
 * The in-process RDMA fabric: listeners, queue pairs (ordered asynchronous SENDs,
 * close semantics) and memory registration (remote access by key, address, length).
 */
import { describe, expect, it } from 'vitest';
import { ProtectionDomain, QpEndpoint, RdmaFabric } from '../../src/rdma/fabric.js';

function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

async function pair(f: RdmaFabric): Promise<{ host: QpEndpoint; target: QpEndpoint; hostPd: ProtectionDomain }> {
  let target: QpEndpoint | null = null;
  f.listen('192.0.2.1', '4420', new ProtectionDomain(), (ep) => {
    target = ep;
  });
  const hostPd = new ProtectionDomain();
  const host = await f.connect('192.0.2.1', '4420', hostPd);
  return { host, target: target!, hostPd };
}

describe('RdmaFabric', () => {
  it('service id "0" picks a free one; a taken address is EADDRINUSE; nobody listening is ECONNREFUSED', async () => {
    const f = new RdmaFabric();
    const a = f.listen('192.0.2.1', '0', new ProtectionDomain(), () => {});
    const b = f.listen('192.0.2.1', '0', new ProtectionDomain(), () => {});
    expect(a.trsvcid).not.toBe(b.trsvcid);
    expect(() => f.listen('192.0.2.1', a.trsvcid, new ProtectionDomain(), () => {})).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    a.close();
    await expect(f.connect('192.0.2.1', a.trsvcid, new ProtectionDomain())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    b.close();
  });

  it('SENDs arrive in order, asynchronously, as copies', async () => {
    const { host, target } = await pair(new RdmaFabric());
    const got: number[] = [];
    target.onRecv = (m) => got.push(m[0]!);
    const msg = new Uint8Array([1]);
    host.send(msg);
    msg[0] = 2;
    host.send(msg);
    for (let i = 3; i <= 100; i++) host.send(new Uint8Array([i]));
    expect(got).toEqual([]);
    await tick();
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('close: both sides see onClose once, undelivered messages are dropped, later SENDs go nowhere', async () => {
    const { host, target } = await pair(new RdmaFabric());
    const closes: string[] = [];
    const got: Uint8Array[] = [];
    host.onClose = (r) => closes.push(`host ${r}`);
    target.onClose = (r) => closes.push(`target ${r}`);
    target.onRecv = (m) => got.push(m);
    target.send(new Uint8Array(16));
    host.close('bye');
    host.close('again');
    target.send(new Uint8Array(16));
    await tick();
    await tick();
    expect(closes).toEqual(['host bye', 'target peer: bye']);
    expect(got).toEqual([]);
    expect(host.closed && target.closed).toBe(true);
  });

  it('remote access resolves only registered ranges of the peer, and not after deregistration', async () => {
    const { host, target, hostPd } = await pair(new RdmaFabric());
    const sab = new SharedArrayBuffer(65536);
    const mr = hostPd.registerMr(sab, 4096, 8192);
    expect(target.remote(mr.rkey, mr.addr, 8192)).toEqual({ memory: sab, offset: 4096, length: 8192 });
    expect(target.remote(mr.rkey, mr.addr + 100, 50)).toEqual({ memory: sab, offset: 4196, length: 50 });
    expect(target.remote(mr.rkey, mr.addr, 8193)).toBeNull();
    expect(target.remote(mr.rkey, mr.addr - 1, 1)).toBeNull();
    expect(target.remote(mr.rkey ^ 1, mr.addr, 1)).toBeNull();
    // The host cannot reach the target's (empty) domain with the host's own key.
    expect(host.remote(mr.rkey, mr.addr, 1)).toBeNull();
    const mr2 = hostPd.registerMr(new Uint8Array(100));
    expect(mr2.addr).toBeGreaterThanOrEqual(mr.addr + 8192);
    expect(hostPd.deregisterMr(mr)).toBe(true);
    expect(target.remote(mr.rkey, mr.addr, 1)).toBeNull();
    expect(hostPd.registered).toBe(1);
    expect(() => hostPd.registerMr(sab, 65000, 1000)).toThrow(RangeError);
  });
});
