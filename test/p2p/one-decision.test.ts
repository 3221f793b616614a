/**
 * One p2p decision (issue 15 item 4): the port binding is the only place that builds a
 * port's client list and asks p2pdma; the API's explanation is a dry run of that same
 * code; one published rule; the data path plugs into the core through its seams and
 * target/p2p does not import a transport.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadBuiltinTopology, BUILTIN_TOPOLOGIES } from '../../src/pci/load.js';
import { P2pdma, publishesAtProbe } from '../../src/p2pdma/p2pdma.js';
import { P2pClientList } from '../../src/p2pdma/client-list.js';
import { decidePort, explainClients, providersOf } from '../../target/p2p/explain.js';
import { loadConfigFile, defaultConfigPath } from '../../target/config/index.js';
import { choosePortProvider } from '../../target/p2p/port-binding.js';
import { CARD, NIC, perTest, SSD1, SSD2, startStack } from './stack.js';

const t = perTest();

describe('one p2p decision', () => {
  it('the API decision for a port is a dry run of the live binding: same clients, candidates and ties', async () => {
    const loaded = await loadConfigFile(defaultConfigPath());
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    // The stack mirrors config/default.json: NIC 03:00.0, namespaces on both SSDs.
    t.stack = await startStack({ allowP2pmem: true, random: () => 0.99 });
    const live = t.stack.dp.portState(1)!;
    const b = t.stack.dp.state().ports[0]!;
    expect(live.clients).toEqual([NIC, SSD1, SSD2]);
    const dry = decidePort(loaded.config, t.stack.dp.topology, 'same-switch', 1, true, t.stack.dp.p2pdma)!;
    expect(dry.clients).toEqual(live.clients);
    expect(dry.explanation).not.toBeNull();
    const liveExpl = (t.stack.dp as unknown as { bindings: Map<number, { explanation: unknown }> }).bindings.get(1)!.explanation as typeof dry.explanation;
    expect(dry.explanation!.candidates).toEqual(liveExpl!.candidates);
    expect(dry.explanation!.ties).toEqual([SSD1, SSD2]);
    expect(liveExpl!.ties).toEqual([SSD1, SSD2]);
    // Live: find's random pick (0.99 → the last tie); dry run: the first by BDF, and says so.
    expect(b.provider).toBe(SSD2);
    expect(dry.provider).toBe(SSD1);
    expect(dry.explanation!.summary).toMatch(/2 providers tie \(Linux picks one at random; this is the first by BDF\)/);
    expect(live.reason).toMatch(/^p2pmem from 0000:05:00\.0 \(distance 2, policy v3, clients 0000:03:00\.0, 0000:04:00\.0, 0000:05:00\.0.*2 providers tie, picked at random\)$/);
  });

  it('a dry run binds nothing and draws no random number', () => {
    const topo = loadBuiltinTopology('default');
    const p2pdma = new P2pdma(topo, { random: () => { throw new Error('dry run used the random source'); } });
    const list = new P2pClientList();
    const c = choosePortProvider(p2pdma, list, topo.get(NIC)!, [{ what: 'ns 1', device: topo.get(SSD1)!, p2pmem: false }, { what: 'ns 2', device: topo.get(SSD2)!, p2pmem: false }], { dryRun: true });
    expect(c.provider?.bdf).toBe(SSD1);
    expect(list.provider).toBeNull();
    // The same call live binds the list to the provider find picked.
    const p = new P2pdma(topo, { random: () => 0 });
    const l2 = new P2pClientList();
    const live = choosePortProvider(p, l2, topo.get(NIC)!, [{ what: 'ns 1', device: topo.get(SSD1)!, p2pmem: false }], { dryRun: false });
    expect(live.provider?.bdf).toBe(SSD1);
    expect(l2.provider?.bdf).toBe(SSD1);
    // A namespace with its own p2pmem attribute is not a client of the port's list.
    const own = choosePortProvider(p, new P2pClientList(), topo.get(NIC)!, [{ what: 'ns 1', device: topo.get(SSD1)!, p2pmem: true }], { dryRun: true });
    expect(own.clients).toEqual([NIC]);
    expect(own.explanation!.ties).toEqual([SSD1, SSD2, CARD]);
    expect(own.provider?.bdf).toBe(SSD1);
  });

  it('a refused client is explained with the same type: refused, nothing chosen, the reason in the summary', () => {
    const topo = loadBuiltinTopology('default');
    const e = explainClients(topo, 'same-switch', [NIC, '0000:77:00.0']);
    expect(e.refused).toEqual([{ client: '0000:77:00.0', reason: expect.stringMatching(/no PCI device 0000:77:00\.0/) }]);
    expect(e.chosen).toBeNull();
    expect(e.candidates).toEqual([]);
    expect(e.summary).toMatch(/^no provider: .*no PCI device 0000:77:00\.0/);
  });

  it.each(BUILTIN_TOPOLOGIES)('one published rule on %s: probe publishes exactly what the API lists as published', (name) => {
    const topo = loadBuiltinTopology(name);
    const p2pdma = new P2pdma(topo);
    for (const p of providersOf(topo)) {
      const f = topo.get(p.bdf)!;
      expect(p2pdma.stats(f).published).toBe(p.published);
      expect(publishesAtProbe(f)).toBe(p.published);
    }
    expect(p2pdma.providers().map((f) => f.bdf)).toEqual(providersOf(topo).map((p) => p.bdf));
  });

  it('target/p2p imports no transport and overwrites no core field', () => {
    const dir = new URL('../../target/p2p/', import.meta.url);
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(new URL(f, dir), 'utf8');
      expect(src, f).not.toMatch(/from '\.\.\/(rdma|tcp|loop)\//);
      expect(src, f).not.toMatch(/nvmet\.(staging|enableHooks)\s*=[^=]/);
    }
  });
});
