import { describe, expect, it } from 'vitest';
import { barChartSvg, escapeXml, niceTicks, type BarChartSpec } from '../../bench/report/svg.js';

const spec: BarChartSpec = {
  title: 'Throughput by staging <128 KiB & more>',
  yLabel: 'MB/s',
  categories: ['jbof/tcp/seqread-128k', 'jbof/rdma/seqread-128k', 'narrow-uplink/tcp'],
  series: [
    { name: 'system memory', color: '#1f77b4', values: [800, 1200, 400] },
    { name: 'p2pmem', color: '#ff7f0e', values: [790, 1150, null] },
  ],
  referenceLines: [{ value: 1000, label: 'ref' }],
};

/** Attributes of every <rect> that has a <title> (the bars). */
function bars(svg: string): { y: number; h: number; title: string }[] {
  const out: { y: number; h: number; title: string }[] = [];
  for (const m of svg.matchAll(/<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)"[^>]*><title>([^<]*)<\/title>/g)) {
    out.push({ y: Number(m[1]), h: Number(m[2]), title: m[3]! });
  }
  return out;
}

describe('niceTicks', () => {
  it.each([
    [1234, [0, 500, 1000, 1500]],
    [2, [0, 0.5, 1, 1.5, 2]],
    [0.3, [0, 0.1, 0.2, 0.3]],
    [100, [0, 20, 40, 60, 80, 100]],
    [7, [0, 2, 4, 6, 8]],
  ])('max %s → %j', (max, want) => expect(niceTicks(max)).toEqual(want));
  it('degenerate maxima give [0, 1]', () => {
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(NaN)).toEqual([0, 1]);
    expect(niceTicks(-5)).toEqual([0, 1]);
  });
  it('always covers the maximum with at most ~2× the target intervals', () => {
    for (const max of [0.0007, 0.9, 3.3, 17, 999, 12345, 9.99e8]) {
      const t = niceTicks(max);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(max);
      expect(t.length - 1).toBeLessThanOrEqual(10);
    }
  });
});

describe('barChartSvg', () => {
  const svg = barChartSvg(spec);

  it('is one well-formed svg document with escaped text', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('Throughput by staging &lt;128 KiB &amp; more&gt;');
    expect(svg).not.toContain('<128');
    // Every opened text/title element is closed.
    expect((svg.match(/<text/g) ?? []).length).toBe((svg.match(/<\/text>/g) ?? []).length);
    expect((svg.match(/<title>/g) ?? []).length).toBe((svg.match(/<\/title>/g) ?? []).length);
  });

  it('draws one bar per value, heights proportional to values', () => {
    const b = bars(svg);
    expect(b).toHaveLength(6);
    const byTitle = new Map(b.map((x) => [x.title, x]));
    const a = byTitle.get('jbof/tcp/seqread-128k — system memory: 800')!;
    const c = byTitle.get('jbof/rdma/seqread-128k — system memory: 1200')!;
    expect(c.h / a.h).toBeCloseTo(1.5, 2);
    // Bars stand on the same baseline.
    expect(a.y + a.h).toBeCloseTo(c.y + c.h, 1);
    expect(byTitle.get('narrow-uplink/tcp — p2pmem: n/a')).toBeDefined();
  });

  it('legend names every series; reference line is drawn', () => {
    expect(svg).toContain('>system memory</text>');
    expect(svg).toContain('>p2pmem</text>');
    expect(svg).toContain('stroke-dasharray="5 3"');
    expect(svg).toContain('>ref</text>');
  });

  it('a zero value is a zero-height bar, not a missing one', () => {
    const z = barChartSvg({ ...spec, series: [{ name: 's', color: 'red', values: [0, 2, 1] }], referenceLines: [] });
    const b = bars(z);
    expect(b.find((x) => x.title.endsWith(': 0'))?.h).toBe(0);
  });

  it('rejects series whose length does not match the categories', () => {
    expect(() => barChartSvg({ ...spec, series: [{ name: 'x', color: 'red', values: [1] }] })).toThrow(/1 values for 3 categories/);
    expect(() => barChartSvg({ ...spec, series: [] })).toThrow(RangeError);
  });

  it('escapeXml', () => expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;'));
});

describe('layout', () => {
  it('the first rotated labels stay inside the image (left margin grows with label length)', () => {
    const long = 'different-switches rdma seqwrite-128k';
    const svg = barChartSvg({ title: 't', yLabel: 'y', categories: [long, 'b'], series: [{ name: 's', color: 'red', values: [1, 2] }] });
    const m = /<text x="([\d.]+)" y="[\d.]+" [^>]*text-anchor="end" transform="rotate\(-40/.exec(svg)!;
    const anchorX = Number(m[1]);
    // The label's horizontal reach at 11 px is about 6.2 px per character × cos 40°.
    expect(anchorX - long.length * 6.2 * Math.cos((40 * Math.PI) / 180)).toBeGreaterThanOrEqual(0);
  });
});
