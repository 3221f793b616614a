import { describe, expect, it } from 'vitest';
import { estimateRemainingMs, Progress, progressLine, renderBar } from '../../bench/report/progress.js';

function sink(isTTY: boolean, columns = 80): { isTTY: boolean; columns: number; out: string[]; write(s: string): boolean } {
  const out: string[] = [];
  return { isTTY, columns, out, write: (s: string) => (out.push(s), true) };
}

describe('progress rendering', () => {
  it('renderBar', () => {
    expect(renderBar(0, 4, 8)).toBe('[--------]');
    expect(renderBar(1, 4, 8)).toBe('[##------]');
    expect(renderBar(4, 4, 8)).toBe('[########]');
    expect(renderBar(9, 4, 8)).toBe('[########]');
    expect(renderBar(0, 0, 4)).toBe('[####]');
  });
  it('ETA from the average step time', () => {
    expect(estimateRemainingMs(1000, 0, 10)).toBeNull();
    expect(estimateRemainingMs(2000, 2, 10)).toBe(8000);
    expect(estimateRemainingMs(2000, 10, 10)).toBe(0);
  });
  it('a status line never exceeds the terminal width', () => {
    const l = progressLine(3, 64, 4000, 'jbof/tcp/seqread-128k/qd32/q1/p2pmem'.repeat(3), 60);
    expect([...l].length).toBeLessThanOrEqual(60);
    expect(l.endsWith('…')).toBe(true);
    expect(progressLine(3, 64, 4000, 'x', 200)).toMatch(/^\[#{1}-{23}\]  3\/64   4%  4 s  ETA 1m21s  x$/);
  });
});

describe('Progress', () => {
  it('on a pipe: one plain line per step, no control characters', () => {
    const s = sink(false);
    const p = new Progress(2, s);
    p.begin('cell A');
    p.step('812 MB/s');
    p.begin('cell B');
    p.step('900 MB/s');
    p.end('ok');
    const text = s.out.join('');
    expect(text).not.toMatch(/\x1b|\r/);
    expect(text.split('\n').filter(Boolean)).toEqual([
      '[1/2] cell A …',
      '[1/2] cell A: 812 MB/s',
      '[2/2] cell B …',
      '[2/2] cell B: 900 MB/s',
      expect.stringMatching(/^2\/2 done in .* — ok$/),
    ]);
  });

  it('on a terminal: redraws in place and clears the bar before notes and at the end', () => {
    let t = 0;
    const s = sink(true, 70);
    const p = new Progress(3, s, { now: () => t });
    p.begin('cell A');
    t = 1000;
    p.step();
    p.note('warning: something');
    p.end();
    expect(s.out.every((w) => !w.includes('\n') || w.endsWith('\n'))).toBe(true);
    const draws = s.out.filter((w) => w.startsWith('\r\x1b[2K['));
    expect(draws.length).toBeGreaterThanOrEqual(3);
    expect(draws.every((d) => [...d].length - 5 <= 70)).toBe(true);
    const noteAt = s.out.indexOf('warning: something\n');
    expect(s.out[noteAt - 1]).toBe('\r\x1b[2K');
    expect(s.out[s.out.length - 1]).toMatch(/^1\/3 done in 1 s\n$/);
    expect(s.out[s.out.length - 2]).toBe('\r\x1b[2K');
  });
});
