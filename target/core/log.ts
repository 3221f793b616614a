/**
 * Logging seam of the target. The core logs through this interface only, so the
 * CLI can route messages (pino, stderr) and tests stay quiet.
 */

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const noop = (): void => {};

/** Logger that drops debug/info and writes warnings/errors to stderr only when NVMET_DEBUG is set. */
export function defaultLogger(): Logger {
  const verbose = process.env['NVMET_DEBUG'] !== undefined && process.env['NVMET_DEBUG'] !== '';
  if (!verbose) return { debug: noop, info: noop, warn: noop, error: (m) => console.error(`nvmet: ${m}`) };
  return {
    debug: (m) => console.error(`nvmet[debug]: ${m}`),
    info: (m) => console.error(`nvmet[info]: ${m}`),
    warn: (m) => console.error(`nvmet[warn]: ${m}`),
    error: (m) => console.error(`nvmet[error]: ${m}`),
  };
}

/** A logger that records nothing (tests that expect errors). */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
