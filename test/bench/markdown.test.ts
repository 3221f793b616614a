import { describe, expect, it } from 'vitest';
import { escapeCell, markdownTable, textTable, type Column } from '../../bench/report/markdown.js';

const cols: Column[] = [{ header: 'cell' }, { header: 'MB/s', align: 'right' }, { header: 'note', align: 'center' }];

describe('markdownTable', () => {
  it('renders header, delimiter with alignment, padded rows', () => {
    const md = markdownTable(cols, [
      ['jbof/tcp', '812', 'ok'],
      ['narrow-uplink/rdma', '3940', ''],
    ]);
    expect(md.split('\n')).toEqual([
      '| cell               | MB/s | note |',
      '| ------------------ | ---: | :--: |',
      '| jbof/tcp           |  812 | ok   |',
      '| narrow-uplink/rdma | 3940 |      |',
    ]);
  });

  it('every line has the same number of unescaped pipes (a valid GFM table)', () => {
    const md = markdownTable(cols, [['a|b', '1', 'x\ny'], ['c', '2', 'back\\slash']]);
    const pipes = md.split('\n').map((l) => (l.replace(/\\\\/g, '').match(/(?<!\\)\|/g) ?? []).length);
    expect(new Set(pipes).size).toBe(1);
    expect(pipes[0]).toBe(4);
    expect(md).toContain('a\\|b');
    expect(md).toContain('x y');
  });

  it('counts characters, not UTF-16 units, when padding (↑, µ)', () => {
    const md = markdownTable([{ header: 'dir' }, { header: 'x' }], [['↑ up', '1'], ['down', '2']]);
    const lines = md.split('\n');
    expect([...lines[2]!].length).toBe([...lines[3]!].length);
  });

  it('rejects ragged rows and empty column lists', () => {
    expect(() => markdownTable(cols, [['only one']])).toThrow(/row 0 has 1 cells/);
    expect(() => markdownTable([], [])).toThrow(RangeError);
  });

  it('escapeCell', () => {
    expect(escapeCell('a|b\nc')).toBe('a\\|b c');
  });
});

describe('textTable', () => {
  it('aligns columns without markdown syntax', () => {
    const t = textTable(cols, [['jbof', '812', 'ok'], ['x', '3940', '']]);
    expect(t.split('\n')).toEqual(['cell  MB/s  note', 'jbof   812  ok', 'x     3940']);
  });
});
