/**
 * Discovery for several instances (issue 12 item 5) through the TCP initiator:
 * the unique discovery NQN (TP8013, Linux configfs discovery_nqn), referrals
 * from one nvmet-ts instance to another so a host following them (nvme
 * connect-all) finds every path, and a persistent discovery controller told
 * of referral changes.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { connect, discover, readDiscoveryLog, type AsyncEvent, type Controller } from '../../initiator/index.js';
import type { Nvmet } from '../../target/core/nvmet.js';
import { createNvmet } from '../../target/create-nvmet.js';
import { TcpTransport } from '../../target/tcp/index.js';
import { TrType } from '../../target/core/fabrics-ops.js';
import { silentLogger } from '../../target/core/log.js';
import { DISCOVERY_NQN } from '../../src/nvme/fabrics.js';
import { DiscSubtype } from '../../src/nvme/discovery-log.js';
import { AerNotice, AerType } from '../../src/nvme/async-event.js';
import { LogId } from '../../src/nvme/log-pages.js';

const SUBNQN = 'nqn.2024-01.io.nvmet-ts:shared';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function instance(discoveryNqn?: string): Promise<{ nvmet: Nvmet; port: number }> {
  const nvmet = createNvmet({ logger: silentLogger, ...(discoveryNqn !== undefined ? { discoveryNqn } : {}) });
  nvmet.registerTransport(new TcpTransport({}));
  const s = nvmet.addSubsystem({ nqn: SUBNQN, allowAnyHost: true });
  await s.addNamespace({ nsid: 1, backend: { kind: 'ram', size: 1 << 20 } }).enable();
  const p = nvmet.addPort({ portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '0' });
  p.addSubsystem(s);
  await p.enable();
  cleanup.push(() => nvmet.shutdown());
  return { nvmet, port: Number(p.addr.trsvcid) };
}

describe('unique discovery NQN', () => {
  test('Identify and discovery log entry 0 report it; the well-known NQN still connects', async () => {
    const UNIQUE = 'nqn.2014-08.io.nvmet-ts:discovery:a';
    const t = await instance(UNIQUE);
    const log = await discover({ host: '127.0.0.1', port: t.port, subnqn: UNIQUE });
    expect(log.entries[0]).toMatchObject({ subtype: DiscSubtype.CurrentDiscovery, subnqn: UNIQUE });
    expect(log.entries[1]).toMatchObject({ subtype: DiscSubtype.Nvme, subnqn: SUBNQN });
    const c = await connect({ host: '127.0.0.1', port: t.port, subnqn: UNIQUE, queues: 0, kato: 0 });
    cleanup.push(() => c.close().catch(() => undefined));
    expect((await c.identifyController()).subnqn).toBe(UNIQUE);
    const wk = await discover({ host: '127.0.0.1', port: t.port, subnqn: DISCOVERY_NQN });
    expect(wk.entries.map((e) => e.subnqn)).toEqual([UNIQUE, SUBNQN]);
  });

  test('refused when it names an existing subsystem, and a subsystem cannot take it', async () => {
    const t = await instance('nqn.2014-08.io.nvmet-ts:discovery:b');
    expect(() => t.nvmet.setDiscoveryNqn(SUBNQN)).toThrow(/existing subsystem/);
    expect(() => t.nvmet.addSubsystem({ nqn: 'nqn.2014-08.io.nvmet-ts:discovery:b' })).toThrow(/discovery/);
    expect(() => t.nvmet.addSubsystem({ nqn: DISCOVERY_NQN })).toThrow(/discovery/);
  });
});

describe('referrals between instances', () => {
  test('following A\'s referral reaches B: both paths of the subsystem are found', async () => {
    const a = await instance();
    const b = await instance();
    a.nvmet.getPort(1)!.addReferral({ id: 1, portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: String(b.port) });
    b.nvmet.getPort(1)!.addReferral({ id: 1, portId: 1, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: String(a.port) });
    // connect-all: walk discovery controllers through referrals, collect NVM subsystem entries.
    const seen = new Set<string>();
    const paths: string[] = [];
    const queue = [a.port];
    for (let i = 0; i < 8 && queue.length > 0; i++) {
      const port = queue.shift()!;
      if (seen.has(String(port))) continue;
      seen.add(String(port));
      const log = await discover({ host: '127.0.0.1', port });
      for (const e of log.entries) {
        if (e.subtype === DiscSubtype.Referral) {
          expect(e.subnqn).toBe(DISCOVERY_NQN);
          queue.push(Number(e.trsvcid));
        } else if (e.subtype === DiscSubtype.Nvme) {
          paths.push(`${e.subnqn}@${e.trsvcid}`);
        }
      }
    }
    expect(paths.sort()).toEqual([`${SUBNQN}@${a.port}`, `${SUBNQN}@${b.port}`].sort());
  });

  test('a persistent discovery controller gets the Discovery Log Change AEN when a referral appears', async () => {
    const a = await instance();
    const events: AsyncEvent[] = [];
    const c: Controller = await connect({
      host: '127.0.0.1', port: a.port, subnqn: DISCOVERY_NQN, queues: 0, kato: 10_000, onAsyncEvent: (e) => events.push(e),
    });
    cleanup.push(() => c.close().catch(() => undefined));
    const before = await readDiscoveryLog(c);
    a.nvmet.getPort(1)!.addReferral({ id: 7, portId: 2, trtype: TrType.TCP, traddr: '127.0.0.1', trsvcid: '4421' });
    const end = performance.now() + 3000;
    while (events.length === 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(events[0]).toMatchObject({ type: AerType.Notice, info: AerNotice.DiscoveryLogChange, logPage: LogId.Discovery });
    const after = await readDiscoveryLog(c);
    expect(after.genctr).toBeGreaterThan(before.genctr);
    expect(after.entries.at(-1)).toMatchObject({ subtype: DiscSubtype.Referral, trsvcid: '4421', portid: 2 });
  });
});
