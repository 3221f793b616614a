import { describe, expect, it } from 'vitest';
import { DENSE_MAX, MediaChunks } from '../../target/p2p/media-chunks.js';

type Chunk = { id: number };

describe('MediaChunks (a RAM namespace’s allocated chunks)', () => {
  const modes = [
    { name: 'array (small namespace)', slots: 8192 },
    { name: 'at the array limit', slots: DENSE_MAX },
    { name: 'Map (beyond the array limit)', slots: DENSE_MAX + 1 },
  ];
  for (const m of modes) {
    it(`${m.name}: get, set, delete, size, clear, inRange`, () => {
      const t = new MediaChunks<Chunk>(m.slots);
      const last = m.slots - 1;
      expect(t.size).toBe(0);
      expect(t.get(0)).toBeUndefined();
      expect(t.get(last)).toBeUndefined();
      const a = { id: 1 };
      const b = { id: 2 };
      const c = { id: 3 };
      t.set(last, c);
      t.set(5, b);
      t.set(0, a);
      expect(t.size).toBe(3);
      t.set(5, b); // same slot again: still three chunks
      expect(t.size).toBe(3);
      expect(t.get(0)).toBe(a);
      expect(t.get(5)).toBe(b);
      expect(t.get(last)).toBe(c);
      expect(t.get(4)).toBeUndefined();
      expect(t.inRange(0, last)).toEqual([[0, a], [5, b], [last, c]]);
      expect(t.inRange(1, last - 1)).toEqual([[5, b]]);
      expect(t.inRange(6, last - 1)).toEqual([]);
      t.delete(5);
      t.delete(5);
      t.delete(7);
      expect(t.size).toBe(2);
      expect(t.get(5)).toBeUndefined();
      t.clear();
      expect(t.size).toBe(0);
      expect(t.get(0)).toBeUndefined();
      expect(t.inRange(0, last)).toEqual([]);
    });
  }

  it('an array table refuses a chunk outside the namespace', () => {
    const t = new MediaChunks<Chunk>(16);
    expect(() => t.set(16, { id: 1 })).toThrow(RangeError);
    expect(() => t.set(-1, { id: 1 })).toThrow(RangeError);
    expect(() => t.set(1.5, { id: 1 })).toThrow(RangeError);
    expect(t.size).toBe(0);
  });
});
