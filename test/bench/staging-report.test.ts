import { describe, expect, it } from 'vitest';
import type { CellResult } from '../../bench/staging/cell.js';
import { expandMatrix, QUICK, type Cell } from '../../bench/staging/matrix.js';
import { buildReport, compare, noiseFloor, renderCharts, renderJson, renderMarkdown, renderReadmeSnippet, renderText, type RunInfo } from '../../bench/staging/report.js';
import type { ClassBytes } from '../../bench/staging/link-classes.js';

const run: RunInfo = {
  command: 'npm run bench',
  preset: QUICK,
  startedAt: '2026-11-22T21:00:00.000Z',
  durationMs: 95_000,
  machine: {
    node: 'v20.20.2', v8: '11', platform: 'linux', arch: 'x64', osRelease: '6.1', cpuModel: 'Test CPU', cpus: 2,
    availableParallelism: 2, totalMemBytes: 8 * 2 ** 30, hostname: 'h',
  },
  notes: ['in-process target'],
  p2pmemStaging: [
    { topology: 'jbof', provider: '0000:04:00.0', reason: 'p2pmem from 0000:04:00.0 (distance 1)' },
    { topology: 'root-ports', provider: null, reason: `no compatible p2pmem provider: ${'x'.repeat(200)}` },
  ],
};

function perByte(staging: 'system' | 'p2pmem', over: Partial<ClassBytes> = {}): ClassBytes {
  const sys = staging === 'system';
  return { nic: 1, ssd: 1, uplink: sys ? 2 : 0, p2pmem: 0, rootPort: sys ? 2 : 0, dram: sys ? 2 : 0, other: 0, rootComplex: sys ? 2 : 0, dramBytes: sys ? 2 : 0, ...over };
}

/** A measured cell as runCell would produce it, with knobs for the tests. */
function cell(c: Cell, mbps: number, o: { round?: number; pb?: ClassBytes | null; limiting?: string; fallbacks?: number } = {}): CellResult {
  const limitingClass = o.limiting ?? (c.topology === 'narrow-uplink' && c.staging === 'system' ? 'uplink' : 'ssd');
  const proj = { mbps: 3938, limitingLink: 'x up', limitingClass, limitingLabel: `${limitingClass} label`, limitingShort: `${limitingClass} short` };
  return {
    id: c.id, configKey: c.configKey, topology: c.topology, staging: c.staging, transport: c.transport, workload: c.workload.name,
    rw: c.workload.rw, pattern: c.workload.pattern, bs: c.workload.bs, qd: c.qd, queues: c.queues, round: o.round ?? 0,
    error: null, seconds: 1, cpuSeconds: 1, cpuUsPerMB: 1e6 / mbps, ios: 1000, payloadBytes: 1000 * c.workload.bs, mbps, iops: (mbps * 1e6) / c.workload.bs,
    latencyUs: { p50: 100, p99: 400, mean: 120, max: 900 },
    stagedIn: c.staging === 'system' ? 'dram' : '0000:04:00.0',
    stagedP2p: c.staging === 'p2pmem' ? 1000 - (o.fallbacks ?? 0) : 0,
    stagedSystem: c.staging === 'p2pmem' ? (o.fallbacks ?? 0) : 1000,
    p2pmemFallbacks: c.staging === 'p2pmem' ? (o.fallbacks ?? 0) : null,
    poolFallbacks: c.staging === 'p2pmem' ? 0 : null,
    perPayloadByte: o.pb === undefined ? perByte(c.staging) : o.pb,
    linkBytes: {},
    projected: o.pb === null ? null : proj,
    expected: { ...proj, rootComplexPerByte: 0, dramPerByte: 0 },
  };
}

const cells = expandMatrix(QUICK);
const good = (): CellResult[] => cells.map((c) => cell(c, c.staging === 'system' ? 1000 : 980));

describe('compare', () => {
  it('representative cells are the round-0 matrix cells', () => {
    const pair = cells.filter((c) => c.configKey === 'jbof/tcp/seqread-128k/qd32/q1');
    const r = buildReport([cell(pair[0]!, 1), cell(pair[1]!, 2), cell(pair[0]!, 3, { round: 1 }), cell(pair[1]!, 4, { round: 1 })], run);
    expect(r.representative.map((c) => c.mbps)).toEqual([1, 2]);
    expect(r.cells).toHaveLength(4);
  });

  it('ratio is the median of per-round ratios of the same round', () => {
    const pair = cells.filter((c) => c.configKey === 'jbof/tcp/seqread-128k/qd32/q1');
    const [s, p] = [pair.find((c) => c.staging === 'system')!, pair.find((c) => c.staging === 'p2pmem')!];
    const rs = [
      cell(s, 1000, { round: 0 }), cell(p, 500, { round: 0 }), // 0.5
      cell(s, 1000, { round: 1 }), cell(p, 950, { round: 1 }), // 0.95
      cell(s, 2000, { round: 2 }), cell(p, 1960, { round: 2 }), // 0.98
    ];
    const [k] = compare(rs);
    expect(k!.rounds).toBe(3);
    expect(k!.roundRatios).toEqual([0.5, 0.95, 0.98]);
    expect(k!.ratio).toBe(0.95);
    expect(k!.systemMbps).toBe(1000);
    expect(k!.p2pmemMbps).toBe(950);
    // cpuUsPerMB = 1e6 / mbps in these cells, so the CPU ratio equals the throughput ratio.
    expect(k!.cpuRatio).toBeCloseTo(0.95, 9);
  });

  it('a pair with a failed side has no ratio', () => {
    const pair = cells.filter((c) => c.configKey === 'jbof/tcp/seqread-128k/qd32/q1');
    const rs = [cell(pair[0]!, 1000), { ...cell(pair[1]!, 0), error: 'boom', mbps: null }];
    expect(compare(rs)[0]!.ratio).toBeNull();
  });
});

describe('A/A control', () => {
  it('pairs whose p2pmem side staged in system memory give the noise floor', () => {
    const rs = good().map((c) => (c.topology === 'root-ports' && c.staging === 'p2pmem' ? { ...c, stagedIn: 'dram', mbps: c.workload === 'randread-4k' ? 1100 : 900 } : c));
    const r = buildReport(rs, run);
    const aa = r.comparisons.filter((k) => k.aa);
    expect(aa.map((k) => k.topology)).toEqual(['root-ports', 'root-ports', 'root-ports', 'root-ports', 'root-ports', 'root-ports', 'root-ports', 'root-ports']);
    expect(noiseFloor(r)).toMatch(/0\.9–1\.1 \(median 0\.9\) over 8 pairs/);
    expect(noiseFloor(buildReport(good(), run))).toBeNull();
  });
});

describe('checks', () => {
  it('all pass on a run that shows what the issue asks', () => {
    const r = buildReport(good(), run);
    expect(r.checks.map((c) => [c.id, c.status])).toEqual([
      ['jbof-p2pmem-zero-rc-dram', 'pass'],
      ['jbof-system-two-rc', 'pass'],
      ['narrow-uplink-limiting', 'pass'],
      ['jbof-128k-ratio', 'pass'],
    ]);
    expect(r.checks[3]!.detail).toMatch(/tcp seqread-128k QD32×1: 0\.98/);
  });

  it('fails when a JBOF p2pmem cell touched the root complex or fell back', () => {
    const rs = good().map((c) => (c.id === 'jbof/tcp/seqwrite-128k/qd32/q1/p2pmem' ? { ...c, perPayloadByte: perByte('p2pmem', { rootComplex: 0.01 }) } : c));
    expect(buildReport(rs, run).checks[0]!.status).toBe('fail');
    const fb = good().map((c) => (c.id === 'jbof/rdma/randread-4k/qd32/q1/p2pmem' ? { ...c, p2pmemFallbacks: 3 } : c));
    const ck = buildReport(fb, run).checks[0]!;
    expect(ck.status).toBe('fail');
    expect(ck.detail).toContain('jbof/rdma/randread-4k/qd32/q1/p2pmem');
  });

  it('fails when system memory is not 2 B/B through the root complex', () => {
    const rs = good().map((c) => (c.topology === 'jbof' && c.staging === 'system' && c.rw === 'read' ? { ...c, perPayloadByte: perByte('system', { rootComplex: 1 }) } : c));
    expect(buildReport(rs, run).checks[1]!.status).toBe('fail');
  });

  it('fails when the model names the wrong link on the narrow uplink (either staging)', () => {
    const a = good().map((c) => (c.topology === 'narrow-uplink' && c.staging === 'system' ? cell(cells.find((x) => x.id === c.id)!, 1000, { limiting: 'ssd' }) : c));
    expect(buildReport(a, run).checks[2]!.status).toBe('fail');
    const b = good().map((c) => (c.topology === 'narrow-uplink' && c.staging === 'p2pmem' ? cell(cells.find((x) => x.id === c.id)!, 1000, { limiting: 'uplink' }) : c));
    expect(buildReport(b, run).checks[2]!.status).toBe('fail');
  });

  it('fails below 90 % at 128 KiB and ignores other sizes', () => {
    const slow128 = good().map((c) => (c.topology === 'jbof' && c.bs === 131072 && c.staging === 'p2pmem' ? { ...c, mbps: 850 } : c));
    expect(buildReport(slow128, run).checks[3]!.status).toBe('fail');
    const slow4k = good().map((c) => (c.topology === 'jbof' && c.bs === 4096 && c.staging === 'p2pmem' ? { ...c, mbps: 100 } : c));
    expect(buildReport(slow4k, run).checks[3]!.status).toBe('pass');
  });

  it('without counters the byte checks say "not measured", never pass', () => {
    const rs = cells.map((c) => cell(c, 1000, { pb: null }));
    const st = buildReport(rs, run).checks.map((c) => c.status);
    expect(st.slice(0, 3)).toEqual(['not measured', 'not measured', 'not measured']);
  });
});

describe('renderings', () => {
  const r = buildReport(good(), run);

  it('markdown: command, machine, notes, checks, charts and one table row per cell', () => {
    const md = renderMarkdown(r, { throughput: 't.svg', rootComplex: 'rc.svg' });
    expect(md).toContain('Command: `npm run bench`');
    expect(md).toContain('2 × Test CPU');
    expect(md).toContain('> in-process target');
    expect(md).toContain('![Throughput by staging](t.svg)');
    expect(md).toContain('![Root-complex bytes per payload byte by staging](rc.svg)');
    expect(md).toMatch(/\*\*PASS\*\* JBOF, p2pmem staging/);
    const rows = md.split('\n').filter((l) => /^\| (jbof|different-switches|root-ports|narrow-uplink) /.test(l));
    expect(rows).toHaveLength(cells.length);
  });

  it('JSON: parses back to the report minus the derived list, one line per cell', () => {
    const text = renderJson(r);
    const back = JSON.parse(text) as Record<string, unknown>;
    expect(back['representative']).toBeUndefined();
    expect(back['cells']).toEqual(JSON.parse(JSON.stringify(r.cells)));
    expect(back['checks']).toEqual(r.checks);
    expect((back['run'] as { machine: { node: string } }).machine.node).toBe('v20.20.2');
    const cellLines = text.split('\n').filter((l) => l.startsWith('    {"id":'));
    expect(cellLines).toHaveLength(r.cells.length);
  });

  it('text table and README snippet', () => {
    const t = renderText(r);
    expect(t.split('\n')[0]).toMatch(/^topology\s+transport\s+workload/);
    expect(t).toContain('PASS');
    const snip = renderReadmeSnippet(r, 'bench/results/staging-quick-throughput.svg');
    expect(snip).toContain('npm run build\nnpm run bench\n');
    expect(snip).toContain('![Throughput by staging](bench/results/staging-quick-throughput.svg)');
    expect(snip).toContain('- jbof: **0000:04:00.0** — p2pmem from 0000:04:00.0 (distance 1)');
    // Long policy explanations are cut in the snippet, kept whole in the report.
    expect(snip).toMatch(/- root-ports: \*\*system memory\*\* — no compatible p2pmem provider: x+…\n/);
    expect(renderMarkdown(r, { throughput: 't', rootComplex: 'r' })).toContain('x'.repeat(200));
  });

  it('charts: one bar per configuration and staging, RC chart with the 2 B/B line', () => {
    const { throughput, rootComplex } = renderCharts(r);
    const bars = (svg: string): number => (svg.match(/<rect[^>]*><title>/g) ?? []).length;
    expect(bars(throughput)).toBe(cells.length);
    expect(bars(rootComplex)).toBe(cells.length);
    expect(rootComplex).toContain('2 B/B');
    expect(throughput).toContain('jbof tcp seqread-128k');
  });
});
