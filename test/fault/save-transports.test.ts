/**
 * Fault rules and the config: /api/save writes the rules added over /api/faults
 * into `nvmet_ts.faults` and a target started from that file runs them; a
 * TCP-only action naming an RDMA port is refused over the API (400 naming
 * body.match.port), in the config (nvmet_ts.faults[i].match.port) and by the
 * engine. Command-level actions act on the simulated RDMA transport too, and a
 * TCP-only rule without a port leaves RDMA commands alone.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../initiator/index.js';
import { NvmeStatusError, STATUS_DNR } from '../../src/nvme/status.js';
import { IoOpcode } from '../../src/nvme/opcodes.js';
import { parseConfig } from '../../target/config/index.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { silentLogger } from '../../target/core/log.js';
import { RdmaFabric } from '../../src/rdma/fabric.js';
import { RdmaTransport } from '../../target/rdma/transport.js';
import { RdmaController } from '../../initiator/rdma/controller.js';
import { faultEngine, parseFaultRule, FaultRuleError } from '../../target/fault/index.js';
import { baseDoc, startStack, SUBNQN, type Stack } from '../api/helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

async function stack(doc?: Record<string, unknown>): Promise<Stack> {
  const s = await startStack(doc);
  cleanup.push(() => s.close());
  return s;
}

const statusOf = (p: Promise<unknown>): Promise<number> =>
  p.then(
    () => 0,
    (e: unknown) => {
      if (e instanceof NvmeStatusError) return e.status;
      throw e;
    },
  );

describe('fault rules in the saved config', () => {
  it('/api/save keeps the API rules in nvmet_ts.faults; a target started from the file runs them as config rules', async () => {
    const s = await stack();
    const rule = { id: 'saved-bad-read', match: { set: 'io', opcode: IoOpcode.Read, lba: { first: 5, last: 5 } }, action: { type: 'status', sct: 2, sc: 0x81, dnr: true } };
    expect((await s.http('POST', '/api/faults', rule)).status).toBe(201);
    expect((await s.http('GET', '/api/state')).json.nvmet_ts).toEqual({ faults: [rule] });
    expect((await s.http('POST', '/api/save')).status).toBe(200);
    const saved = JSON.parse(readFileSync(s.savePath, 'utf8')) as Record<string, unknown>;
    expect(saved['nvmet_ts']).toEqual({ faults: [rule] });

    const s2 = await stack(saved);
    const listed = (await s2.http('GET', '/api/faults')).json.rules as { id: string; source: string }[];
    expect(listed.map((r) => [r.id, r.source])).toEqual([['saved-bad-read', 'config']]);
    const c = await connect({ host: '127.0.0.1', port: s2.tcpPort(), subnqn: SUBNQN, kato: 0, queues: 1 });
    cleanup.push(() => c.close());
    expect(await statusOf(c.read(1, 5, 1))).toBe(0x281 | STATUS_DNR);
    expect(await statusOf(c.read(1, 6, 1))).toBe(0);
    // Saving again does not double it (it is a config rule now).
    expect((await s2.http('POST', '/api/save')).status).toBe(200);
    expect((JSON.parse(readFileSync(s2.savePath, 'utf8')) as Record<string, unknown>)['nvmet_ts']).toEqual({ faults: [rule] });
  });

  it('a config rule comes back over an API rule of the same id (PUT of a saved state) instead of failing', async () => {
    const s = await stack();
    const rule = { id: 'same', action: { type: 'delay', ms: 1 } };
    expect((await s.http('POST', '/api/faults', rule)).status).toBe(201);
    const state = (await s.http('GET', '/api/state')).json as Record<string, unknown>;
    const put = await s.http('PUT', '/api/state', state);
    expect(put.status).toBeLessThan(300);
    const listed = (await s.http('GET', '/api/faults')).json.rules as { id: string; source: string }[];
    expect(listed.map((r) => [r.id, r.source])).toEqual([['same', 'config']]);
  });
});

function rdmaDoc(): Record<string, unknown> {
  const doc = baseDoc();
  const ports = doc['ports'] as Record<string, unknown>[];
  ports.push({
    portid: 2,
    addr: { trtype: 'rdma', adrfam: 'ipv4', traddr: '192.0.2.44', trsvcid: '4420', treq: 'not specified' },
    param: {},
    subsystems: [],
    referrals: [],
  });
  return doc;
}

describe('TCP-only actions and other transports', () => {
  it('the config refuses a TCP-only action whose match.port is an RDMA port, naming the JSON path', () => {
    const doc = { ...rdmaDoc(), nvmet_ts: { faults: [{ action: { type: 'hang' } }, { match: { port: 2 }, action: { type: 'split-c2h-data', size: 512 } }] } };
    const r = parseConfig(doc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toContain('nvmet_ts.faults[1].match.port');
    // Command-level actions may name it.
    const ok = parseConfig({ ...rdmaDoc(), nvmet_ts: { faults: [{ match: { port: 2 }, action: { type: 'delay', ms: 5 } }] } });
    expect(ok.ok).toBe(true);
  });

  it('the engine and the API refuse it on an RDMA port with the field named; command actions on RDMA act, TCP-only ones without a port do not', async () => {
    const fabric = new RdmaFabric();
    const nvmet = createNvmet({ logger: silentLogger });
    nvmet.registerTransport(new RdmaTransport({ fabric, logger: silentLogger }));
    const sub = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true });
    await sub.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 4 << 20 } }).enable();
    const port = nvmet.addPort({ portId: 7, trtype: TrType.RDMA, traddr: '192.0.2.7', trsvcid: '0' });
    port.addSubsystem(sub);
    await port.enable();
    cleanup.push(() => nvmet.shutdown());
    const engine = faultEngine(nvmet);
    for (const type of ['pause-reading', 'corrupt-data-digest', 'withhold-r2t'] as const) {
      const spec = parseFaultRule({ match: { port: 7 }, action: type === 'pause-reading' ? { type, ms: 5 } : { type } });
      let err: unknown = null;
      try {
        engine.add(spec);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FaultRuleError);
      expect((err as FaultRuleError).path).toBe('match.port');
      expect((err as Error).message).toMatch(/RDMA port.*TCP ports only/);
    }
    expect(engine.list()).toEqual([]);

    const host = await RdmaController.connect({ fabric, traddr: '192.0.2.7', trsvcid: port.addr.trsvcid, subnqn: SUBNQN, queues: 1 });
    cleanup.push(() => host.close());
    const data = new Uint8Array(4096).map((_, i) => (i * 3) & 0xff);
    await host.write(1, 0, data);
    // TCP-only, no port: not a hit on RDMA.
    engine.add(parseFaultRule({ id: 'tcp-only', match: { set: 'io', opcode: IoOpcode.Read }, action: { type: 'split-c2h-data', size: 512 } }));
    expect(new Uint8Array(await host.read(1, 0, 8))).toEqual(data);
    expect(engine.get('tcp-only')).toMatchObject({ hits: 0, injected: 0 });
    engine.clear();
    // Command level on RDMA: status, corrupt-data, delay.
    engine.add(parseFaultRule({ match: { port: 7, set: 'io', opcode: IoOpcode.Read, lba: { first: 0, last: 0 } }, fire: { count: 1 }, action: { type: 'status', sct: 2, sc: 0x81 } }));
    expect(await statusOf(host.read(1, 0, 8))).toBe(0x281);
    engine.clear();
    engine.add(parseFaultRule({ match: { port: 7, set: 'io', opcode: IoOpcode.Read }, fire: { count: 1 }, action: { type: 'corrupt-data', offset: 3, ascii: 'XYZ' } }));
    const want = data.slice();
    want.set([0x58, 0x59, 0x5a], 3);
    expect(new Uint8Array(await host.read(1, 0, 8))).toEqual(want);
    engine.clear();
    engine.add(parseFaultRule({ match: { port: 7, set: 'io', opcode: IoOpcode.Read }, fire: { count: 1 }, action: { type: 'delay', ms: 250 } }));
    const t0 = performance.now();
    expect(new Uint8Array(await host.read(1, 0, 8))).toEqual(data);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(240);
    expect(engine.injectedTotals().get('delay')).toBe(1);
  });

  it('over HTTP: a TCP-only action on the RDMA port of the config is a 400 naming body.match.port', async () => {
    const s = await stack(rdmaDoc());
    const r = await s.http('POST', '/api/faults', { match: { port: 2 }, action: { type: 'drop-after-pdus', pdus: 3 } });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/body\.match\.port/);
    expect((await s.http('POST', '/api/faults', { match: { port: 1 }, action: { type: 'drop-after-pdus', pdus: 3 } })).status).toBe(201);
  });
});
