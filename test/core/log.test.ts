/**
 * The process logger (pino, target/core/log.ts): the text and JSON line formats the
 * CLI prints (--log-format), level filtering, and the library default.
 */
import { describe, expect, test } from 'vitest';
import { createLogger, silentLogger, textLine } from '../../target/core/log.js';

const capture = (): { lines: string[]; write: (l: string) => void } => {
  const lines: string[] = [];
  return { lines, write: (l) => lines.push(l) };
};

describe('createLogger', () => {
  test('text: one "ISO-TIME LEVEL(5) message" line per event, below-level events dropped', () => {
    const c = capture();
    const log = createLogger('info', 'text', c.write);
    log.debug('not shown');
    log.info('port 1 enabled');
    log.warn('50% "quoted"\nsecond line');
    log.error('boom');
    expect(c.lines).toHaveLength(3);
    expect(c.lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info  port 1 enabled\n$/);
    expect(c.lines[1]).toMatch(/^\S+Z warn  50% "quoted"\nsecond line\n$/);
    expect(c.lines[2]).toMatch(/^\S+Z error boom\n$/);
  });

  test('json: one JSON object per line with time, level (a name) and msg, nothing else', () => {
    const c = capture();
    const log = createLogger('debug', 'json', c.write);
    log.debug('d');
    log.info('SIGTERM: shutting down');
    expect(c.lines).toHaveLength(2);
    for (const l of c.lines) expect(l.endsWith('\n')).toBe(true);
    const rec = JSON.parse(c.lines[1]!) as Record<string, unknown>;
    expect(Object.keys(rec).sort()).toEqual(['level', 'msg', 'time']);
    expect(rec).toMatchObject({ level: 'info', msg: 'SIGTERM: shutting down' });
    expect(new Date(String(rec['time'])).toISOString()).toBe(rec['time']);
    expect(c.lines[1]).toMatch(/"msg":"SIGTERM: shutting down"/);
    expect(JSON.parse(c.lines[0]!)).toMatchObject({ level: 'debug', msg: 'd' });
  });

  test('silent writes nothing; textLine renders a pino record', () => {
    const c = capture();
    const log = createLogger('silent', 'json', c.write);
    log.error('x');
    silentLogger.error('y');
    expect(c.lines).toEqual([]);
    expect(textLine('{"level":"warn","time":"2026-01-01T00:00:00.000Z","msg":"m"}')).toBe('2026-01-01T00:00:00.000Z warn  m\n');
  });
});
