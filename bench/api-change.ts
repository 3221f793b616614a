/**
 * Cost of one management-API change against a large configuration (issue 10 part 3:
 * "applying one change costs time proportional to the change"). Starts a target with
 * N subsystems (one RAM namespace each, disabled) all exported through one TCP port,
 * then times, over real HTTP, each kind of change a client makes: add a host, add a
 * subsystem, add a namespace to it, link it to the port, change the namespace,
 * change an attribute of an existing subsystem, delete the new subsystem.
 *
 *   node dist/bench/api-change.js [N=6500] [changes=20]
 *
 * Prints the median of each (ms) and, where the target counts it (target/config/work.ts),
 * how many configuration entities the changes touched in all.
 */
import { NvmetService } from '../target/service/index.js';
import { startApi } from '../target/api/server.js';
import { parseConfig } from '../target/config/index.js';
import { silentLogger } from '../target/core/log.js';

const n = Number(process.argv[2] ?? 6500);
const changes = Number(process.argv[3] ?? 20);
const nqn = (i: number): string => `nqn.2024-01.io.bench:s${i}`;
const doc = {
  hosts: [],
  ports: [{ portid: 1, addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '0' }, subsystems: Array.from({ length: n }, (_, i) => nqn(i)), referrals: [] }],
  subsystems: Array.from({ length: n }, (_, i) => ({
    nqn: nqn(i),
    attr: { allow_any_host: '1' },
    allowed_hosts: [],
    namespaces: [{ nsid: 1, enable: 0, device: { path: 'ram:1M' } }],
  })),
};
const r = parseConfig(doc);
if (!r.ok) throw new Error(JSON.stringify(r.errors.slice(0, 3)));
const svc = await NvmetService.start({ config: r.config, logger: silentLogger, dataPath: false });
const api = await startApi(svc, { host: '127.0.0.1', port: 0 });
const time = async (method: string, path: string, body?: unknown): Promise<number> => {
  const t0 = performance.now();
  const res = await fetch(api.url + path, body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status}`);
  return performance.now() - t0;
};
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;

// The work counters exist from issue 10's O(change) apply on; older code has none.
const work = await import('../target/config/index.js').then((m) => (m as Record<string, unknown>)['configWork'] as Record<string, number> | undefined);
const workTotal = (): number => (work === undefined ? NaN : Object.values(work).reduce((a, b) => a + b, 0));

const ops = ['POST host', 'POST subsystem', 'POST namespace', 'POST link', 'PATCH namespace', 'PATCH subsystem', 'DELETE subsystem'] as const;
const t = new Map<string, number[]>(ops.map((o) => [o, []]));
const w0 = workTotal();
for (let i = 0; i < changes; i++) {
  const s = `nqn.2024-01.io.bench:new${i}`;
  const e = encodeURIComponent(s);
  t.get('POST host')!.push(await time('POST', '/api/hosts', { nqn: `nqn.2024-01.io.bench:h${i}` }));
  t.get('POST subsystem')!.push(await time('POST', '/api/subsystems', { nqn: s, attr: { allow_any_host: '1' } }));
  t.get('POST namespace')!.push(await time('POST', `/api/subsystems/${e}/namespaces`, { nsid: 1, enable: 0, device: { path: 'ram:1M' } }));
  t.get('POST link')!.push(await time('POST', '/api/ports/1/subsystems', { nqn: s }));
  t.get('PATCH namespace')!.push(await time('PATCH', `/api/subsystems/${e}/namespaces/1`, { device: { path: 'ram:2M' } }));
  t.get('PATCH subsystem')!.push(await time('PATCH', `/api/subsystems/${encodeURIComponent(nqn(7))}`, { attr: { model: `m${i}` } }));
  t.get('DELETE subsystem')!.push(await time('DELETE', `/api/subsystems/${e}`));
}
const entities = (workTotal() - w0) / (changes * ops.length);
console.log(`${n} subsystems (all linked to port 1), ${changes} changes each, median ms:`);
for (const o of ops) console.log(`  ${o.padEnd(17)} ${median(t.get(o)!).toFixed(1)}`);
console.log(`  entities touched per change (mean): ${Number.isNaN(entities) ? 'not counted' : entities.toFixed(1)}`);
await api.close();
await svc.stop();
