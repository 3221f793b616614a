/**
 * Issue 10 part 3: applying one management-API change costs time proportional to
 * the change, not to the configuration. Not a timing (bench/api-change.ts has the
 * figures): the configuration pipeline counts the entities it parses, cross-checks,
 * resolves, serializes, copies into a whole document and reconciles against the live
 * target (target/config/work.ts); for each kind of change that count must be the
 * same with 10 and with 1,000 subsystems, every one linked to the port.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { baseDoc, enc, startStack, type Stack } from './helpers.js';
import { workSince, workSnapshot, type ConfigWork } from '../../target/config/work.js';

const sub = (i: number): string => `nqn.2024-01.io.nvmet-ts:cost-${i}`;

function docWith(n: number): Record<string, unknown> {
  const doc = baseDoc() as { subsystems: unknown[]; ports: { subsystems: string[] }[] };
  for (let i = 0; i < n - 1; i++) {
    doc.subsystems.push({ nqn: sub(i), attr: { allow_any_host: '1' }, allowed_hosts: [], namespaces: [{ nsid: 1, enable: 0, device: { path: 'ram:1M' } }] });
    doc.ports[0]!.subsystems.push(sub(i));
  }
  return doc;
}

type Op = [name: string, method: string, path: string, body: unknown, status: number];

/** The six changes, in order (each builds on the one before). */
const OPS: Op[] = [
  ['add host', 'POST', '/api/hosts', { nqn: 'nqn.2024-01.io.nvmet-ts:cost-host' }, 201],
  ['add subsystem', 'POST', '/api/subsystems', { nqn: 'nqn.2024-01.io.nvmet-ts:cost-new', attr: { allow_any_host: '1' }, namespaces: [{ nsid: 1, enable: 0, device: { path: 'ram:1M' } }] }, 201],
  ['add namespace', 'POST', `/api/subsystems/${enc(sub(3))}/namespaces`, { nsid: 2, device: { path: 'ram:1M' }, enable: 1 }, 201],
  ['link subsystem to port', 'POST', '/api/ports/1/subsystems', { nqn: 'nqn.2024-01.io.nvmet-ts:cost-new' }, 201],
  ['change a namespace attribute', 'PATCH', `/api/subsystems/${enc(sub(3))}/namespaces/1`, { device: { path: 'ram:2M' } }, 200],
  ['delete subsystem', 'DELETE', `/api/subsystems/${enc('nqn.2024-01.io.nvmet-ts:cost-new')}`, undefined, 204],
];

const stacks: Stack[] = [];
afterAll(async () => {
  for (const s of stacks) await s.close();
});

async function costs(n: number): Promise<Map<string, ConfigWork & { total: number }>> {
  const s = await startStack(docWith(n));
  stacks.push(s);
  const out = new Map<string, ConfigWork & { total: number }>();
  for (const [name, method, path, body, status] of OPS) {
    const before = workSnapshot();
    const r = await s.http(method, path, body);
    expect(r.status, `${name}: ${r.text.slice(0, 200)}`).toBe(status);
    out.set(name, workSince(before));
  }
  // The changes happened (the live target and the document agree).
  expect(s.svc.subsystem(sub(3))!.namespaces.map((x) => x.nsid)).toEqual([1, 2]);
  expect(s.svc.subsystem('nqn.2024-01.io.nvmet-ts:cost-new')).toBeUndefined();
  expect(s.svc.config.subsystems).toHaveLength(n);
  expect(s.svc.config.ports[0]!.subsystems).toHaveLength(n);
  return out;
}

describe('one API change touches the same number of configuration entities at 10 and at 1,000 subsystems', () => {
  test('add host, add subsystem, add namespace, link, change a namespace, delete subsystem', async () => {
    const small = await costs(10);
    const large = await costs(1000);
    if (process.env.SHOW_WORK) console.log(JSON.stringify([...large]));
    for (const [name] of OPS) {
      const a = small.get(name)!;
      const b = large.get(name)!;
      expect(a.total, name).toBeGreaterThan(0);
      expect(b, name).toEqual(a);
      // A change touches a handful of entities, not a configuration's worth.
      expect(b.total, name).toBeLessThan(40);
    }
  }, 120_000);
});
