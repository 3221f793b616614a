/**
 * Logging: one logger for the whole process, pino (fastify's logger). The core, the
 * transports, the service and the fault engine log through the small `Logger`
 * interface below (tests pass their own to capture lines); every logger this process
 * builds is a pino instance made by `createLogger`.
 *
 * Two formats on stderr (stdout stays for the start-up summary and command output):
 * - text, one human line per event: `2026-11-22T10:00:00.000Z info  port 1 enabled` —
 *   pino's record rendered by `textLine`, the only formatting code here;
 * - JSON lines, pino's own record: `{"level":"info","time":"2026-11-22T10:00:00.000Z","msg":"port 1 enabled"}`.
 */

import { pino } from 'pino';

/** What the target logs through. A pino logger is one; so is a test's capturing object. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = 'text' | 'json';

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/** One pino JSON record → today's text line (`TIME LEVEL MSG`). */
export function textLine(record: string): string {
  const r = JSON.parse(record) as { time?: string; level?: string; msg?: string };
  return `${r.time ?? ''} ${(r.level ?? '').padEnd(5)} ${r.msg ?? ''}\n`;
}

const toStderr = (line: string): void => void process.stderr.write(line);

/**
 * A pino logger at `level` writing `format` lines to `write` (default: stderr),
 * synchronously, so log lines and stdout output keep their order.
 */
export function createLogger(level: LogLevel, format: LogFormat, write: (line: string) => void = toStderr): pino.Logger {
  const dest = format === 'json' ? { write } : { write: (record: string): void => write(textLine(record)) };
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}

/**
 * The logger of library use (a core, transport or data path built without one):
 * errors only, or everything with NVMET_DEBUG set; text on stderr.
 */
export function defaultLogger(): Logger {
  const verbose = process.env['NVMET_DEBUG'] !== undefined && process.env['NVMET_DEBUG'] !== '';
  return createLogger(verbose ? 'debug' : 'error', 'text');
}

/**
 * A pino logger for libraries that need one (fastify's `loggerInstance`): `logger`
 * itself when it is a pino instance (the CLI's), else a pino instance whose records
 * go, by level, to `logger`'s methods as their message (a test's capturing object),
 * so every line still passes through the one `Logger` the target was given.
 */
export function asPino(logger: Logger): pino.Logger {
  if (isPino(logger)) return logger;
  const byLevel = (record: string): void => {
    const r = JSON.parse(record) as { level?: string; msg?: string };
    const msg = r.msg ?? '';
    if (r.level === 'debug' || r.level === 'trace') logger.debug(msg);
    else if (r.level === 'info') logger.info(msg);
    else if (r.level === 'warn') logger.warn(msg);
    else logger.error(msg);
  };
  return pino({ level: 'debug', base: undefined, formatters: { level: (label) => ({ level: label }) } }, { write: byLevel });
}

function isPino(l: Logger): l is pino.Logger {
  const c = l as Partial<pino.Logger>;
  return typeof c.child === 'function' && typeof c.level === 'string' && typeof c.fatal === 'function' && typeof c.trace === 'function';
}

/** A logger that records nothing (tests that expect errors). */
export const silentLogger: Logger = createLogger('silent', 'text');
