/**
 * A real target + management API on 127.0.0.1 (ephemeral ports) for API tests,
 * plus a small HTTP client and a Prometheus text-format parser.
 */
import { afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect as tcpConnect } from 'node:net';
import { NvmetService } from '../../target/service/index.js';
import { startApi, type ApiServer, type ApiOptions } from '../../target/api/server.js';
import { parseConfig } from '../../target/config/index.js';
import { silentLogger } from '../../target/core/log.js';
import type { P2pPolicy } from '../../src/p2pdma/policy.js';
import type { BackingPathPolicy } from '../../target/backend/path-policy.js';

export const SUBNQN = 'nqn.2024-01.io.nvmet-ts:api-test';
export const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:0b3c5d7e-1f2a-4b3c-8d4e-5f6a7b8c9d0e';
export const TOPOLOGY = JSON.parse(readFileSync(new URL('../../config/topologies/default.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** One subsystem (any host) with one enabled 64 MiB RAM namespace on SSD 04:00.0, one TCP port on 127.0.0.1:0 with the NIC 03:00.0. */
export function baseDoc(): Record<string, unknown> {
  return {
    hosts: [],
    ports: [
      {
        portid: 1,
        addr: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '0', treq: 'not specified' },
        param: { allow_p2pmem: '0' },
        nvmet_ts: { nic: '0000:03:00.0' },
        subsystems: [SUBNQN],
        referrals: [],
      },
    ],
    subsystems: [
      {
        nqn: SUBNQN,
        attr: { allow_any_host: '1', serial: 'apitest0001', model: 'nvmet-ts api test' },
        allowed_hosts: [],
        namespaces: [{ nsid: 1, enable: 1, device: { path: 'ram:64M' }, nvmet_ts: { nvme: '0000:04:00.0' } }],
      },
    ],
    topology: TOPOLOGY,
  };
}

/**
 * baseDoc() where HOSTNQN (carrying `host`: a dhchap group, an nvmet_ts.tls_psk, ...) is the
 * only host the subsystem allows; `addr` is merged into port 1's addr (e.g. tsas/treq).
 */
export function oneHostDoc(host: Record<string, unknown>, addr: Record<string, string> = {}): Record<string, unknown> {
  const doc = baseDoc();
  doc['hosts'] = [{ nqn: HOSTNQN, ...host }];
  const ports = doc['ports'] as Record<string, Record<string, unknown>>[];
  ports[0]!['addr'] = { ...ports[0]!['addr'], ...addr };
  const subs = doc['subsystems'] as Record<string, unknown>[];
  subs[0]!['attr'] = { allow_any_host: '0', serial: 'apitest0001', model: 'nvmet-ts api test' };
  subs[0]!['allowed_hosts'] = [HOSTNQN];
  return doc;
}

/** Initiator options for HOSTNQN to SUBNQN on an NVMe port of a stack (one I/O queue, no keep-alive). */
export interface HostOpts { host: string; port: number; subnqn: string; hostnqn: string; queues: number; kato: number }

/**
 * One stack per test, closed after each (registers the afterEach): `const s = t.use(await
 * startStack(doc))`, then `connect({ ...t.hostOpts(), ... })`.
 */
export function stackPerTest(): { use(s: Stack): Stack; hostOpts(portid?: number): HostOpts } {
  let cur: Stack | undefined;
  afterEach(async () => {
    await cur?.close();
    cur = undefined;
  });
  return {
    use: (s) => (cur = s),
    hostOpts: (portid = 1) => {
      if (!cur) throw new Error('no stack started in this test');
      return { host: '127.0.0.1', port: cur.tcpPort(portid), subnqn: SUBNQN, hostnqn: HOSTNQN, queues: 1, kato: 0 };
    },
  };
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  body: Buffer;
  /** Parsed JSON body (undefined when not JSON). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Stack {
  svc: NvmetService;
  api: ApiServer;
  dir: string;
  dataDir: string;
  savePath: string;
  http(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  /** Bound TCP port of an NVMe port. */
  tcpPort(portid?: number): number;
  close(): Promise<void>;
}

export async function startStack(
  doc: Record<string, unknown> = baseDoc(),
  opts: { policy?: P2pPolicy; api?: ApiOptions; allowListen?: string[]; paths?: BackingPathPolicy; reactors?: number } = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'nvmet-ts-api-'));
  const dataDir = join(dir, 'data');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dataDir);
  const r = parseConfig(doc);
  if (!r.ok) throw new Error(`bad test doc: ${JSON.stringify(r.errors)}`);
  const savePath = join(dir, 'saved.json');
  const svc = await NvmetService.start({ config: r.config, baseDir: dir, logger: silentLogger, savePath, ...(opts.policy ? { policy: opts.policy } : {}), ...(opts.allowListen ? { allowListen: opts.allowListen } : {}), ...(opts.paths ? { paths: opts.paths } : {}), ...(opts.reactors !== undefined ? { reactors: opts.reactors } : {}) });
  let api: ApiServer;
  try {
    api = await startApi(svc, { host: '127.0.0.1', port: 0, dataDir, version: 'test', ...opts.api });
  } catch (e) {
    await svc.stop();
    throw e;
  }
  return {
    svc,
    api,
    dir,
    dataDir,
    savePath,
    http: (method, path, body, headers = {}) => request(api.url, method, path, body, headers),
    tcpPort: (portid = 1) => Number(svc.port(portid)!.addr.trsvcid),
    close: async () => {
      await api.close();
      await svc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function request(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  const init: RequestInit = { method, headers: { ...headers }, signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) {
    if (body instanceof Uint8Array || typeof body === 'string') {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
  }
  const res = await fetch(base + path, init);
  const buf = Buffer.from(await res.arrayBuffer());
  const text = buf.toString('utf8');
  let json: unknown;
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: res.status, headers: res.headers, text, body: buf, json };
}

export const enc = encodeURIComponent;

/** Wait until `pred` holds, polling every 10 ms, at most `ms`. */
export async function until(pred: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---------------------------------------------------------------- Prometheus text format

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: string;
  help: string;
  samples: PromSample[];
}

/**
 * A strict parser of the Prometheus text exposition format (0.0.4): # HELP / # TYPE
 * lines, samples `name{label="value",...} value [timestamp]`. Throws on any line it
 * cannot read, so a malformed exposition fails the test.
 */
export function parsePrometheus(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const family = (name: string): PromFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line === '') return;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (meta[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(meta[3]!)) throw new Error(`line ${i + 1}: bad TYPE ${meta[3]}`);
        f.type = meta[3]!;
      } else f.help = meta[3]!;
      return;
    }
    if (line.startsWith('#')) return;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)( [0-9]+)?$/.exec(line);
    if (!m) throw new Error(`line ${i + 1}: cannot parse ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[3] !== undefined && m[3] !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
      let pos = 0;
      while (pos < m[3].length) {
        re.lastIndex = pos;
        const lm = re.exec(m[3]);
        if (!lm) throw new Error(`line ${i + 1}: bad labels ${m[3]}`);
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        pos = re.lastIndex;
      }
    }
    const v = m[4]!;
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v === 'NaN' ? NaN : Number(v);
    if (Number.isNaN(value) && v !== 'NaN') throw new Error(`line ${i + 1}: bad value ${v}`);
    const name = m[1]!;
    const base = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    family(families.has(base) ? base : name).samples.push({ name, labels, value });
  });
  return families;
}

/** A TCP port nothing listens on right now (bound and released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** What a plain TCP connect to 127.0.0.1:port gets: 'connected', 'timeout' (3 s) or the error code. */
export function tcpProbe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve('timeout');
    }, 3000);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve('connected');
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? String(e));
    });
  });
}
