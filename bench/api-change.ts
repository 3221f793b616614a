/**
 * Cost of one management-API change against a large configuration (issue 10 part 3:
 * "applying one change costs time proportional to the change"). Starts a target with
 * N subsystems (one RAM namespace each, no port), then times POST /api/hosts and
 * PATCH of one subsystem's model over real HTTP.
 *
 *   node dist/bench/api-change.js [N=6500] [changes=20]
 */
import { NvmetService } from '../target/service/index.js';
import { startApi } from '../target/api/server.js';
import { parseConfig } from '../target/config/index.js';
import { silentLogger } from '../target/core/log.js';

const n = Number(process.argv[2] ?? 6500);
const changes = Number(process.argv[3] ?? 20);
const doc = {
  hosts: [],
  ports: [],
  subsystems: Array.from({ length: n }, (_, i) => ({
    nqn: `nqn.2024-01.io.bench:s${i}`,
    attr: { allow_any_host: '1' },
    allowed_hosts: [],
    namespaces: [{ nsid: 1, enable: 0, device: { path: 'ram:1M' } }],
  })),
};
const r = parseConfig(doc);
if (!r.ok) throw new Error(JSON.stringify(r.errors.slice(0, 3)));
const svc = await NvmetService.start({ config: r.config, logger: silentLogger, dataPath: false });
const api = await startApi(svc, { host: '127.0.0.1', port: 0 });
const time = async (method: string, path: string, body: unknown): Promise<number> => {
  const t0 = performance.now();
  const res = await fetch(api.url + path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status}`);
  return performance.now() - t0;
};
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const post: number[] = [];
const patch: number[] = [];
for (let i = 0; i < changes; i++) {
  post.push(await time('POST', '/api/hosts', { nqn: `nqn.2024-01.io.bench:h${i}` }));
  patch.push(await time('PATCH', `/api/subsystems/${encodeURIComponent('nqn.2024-01.io.bench:s7')}`, { attr: { model: `m${i}` } }));
}
console.log(`${n} subsystems: POST /api/hosts median ${median(post).toFixed(1)} ms, PATCH subsystem median ${median(patch).toFixed(1)} ms (${changes} each)`);
await api.close();
await svc.stop();
