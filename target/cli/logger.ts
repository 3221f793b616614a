/**
 * Structured logging for the CLI: one line per event, either human text
 * (`2026-11-22T10:00:00.000Z info  port 1 enabled ...`) or JSON lines for
 * machines (`--log-format json`). Everything goes to stderr so stdout stays
 * for the start-up summary and command output.
 */

import type { Logger } from '../core/log.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'text' | 'json';

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export function createLogger(level: LogLevel, format: LogFormat, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string): void => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    const time = new Date().toISOString();
    write(format === 'json' ? JSON.stringify({ time, level: lvl, msg }) + '\n' : `${time} ${lvl.padEnd(5)} ${msg}\n`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}
