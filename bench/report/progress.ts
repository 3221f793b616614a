/**
 * A progress bar on stderr while a bench runs. On a terminal it redraws one
 * line in place (bar, count, ETA, current cell); when stderr is a pipe or a
 * file it prints one plain line per step instead, so CI logs stay readable and
 * stdout (the table, the JSON) is never touched.
 */

import { formatDuration } from './stats.js';

/** The part of a stream the bar uses (process.stderr fits). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(s: string): boolean;
}

/** "[######------]" of `width` cells for done/total (total 0 counts as complete). */
export function renderBar(done: number, total: number, width: number): string {
  const frac = total <= 0 ? 1 : Math.max(0, Math.min(1, done / total));
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/** Remaining time from the average time per finished step; null before the first step finishes. */
export function estimateRemainingMs(elapsedMs: number, done: number, total: number): number | null {
  if (done <= 0 || total <= done) return done >= total ? 0 : null;
  return (elapsedMs / done) * (total - done);
}

/** One status line, cut to `columns` (a terminal wraps longer lines, which breaks the in-place redraw). */
export function progressLine(done: number, total: number, elapsedMs: number, label: string, columns: number): string {
  const eta = estimateRemainingMs(elapsedMs, done, total);
  const pct = total <= 0 ? 100 : Math.floor((done / total) * 100);
  const head = `${renderBar(done, total, 24)} ${String(done).padStart(String(total).length)}/${total} ${String(pct).padStart(3)}%  ${formatDuration(elapsedMs)}${eta === null ? '' : `  ETA ${formatDuration(eta)}`}`;
  const line = label ? `${head}  ${label}` : head;
  return [...line].length > columns ? `${[...line].slice(0, Math.max(0, columns - 1)).join('')}…` : line;
}

export class Progress {
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  readonly #t0: number;
  readonly #now: () => number;
  #done = 0;
  #label = '';
  #drawn = false;

  constructor(
    readonly total: number,
    stream: ProgressStream = process.stderr,
    opts: { tty?: boolean; now?: () => number } = {},
  ) {
    this.#stream = stream;
    this.#tty = opts.tty ?? stream.isTTY === true;
    this.#now = opts.now ?? (() => performance.now());
    this.#t0 = this.#now();
  }

  get done(): number {
    return this.#done;
  }

  /** A step begins: show what is running. */
  begin(label: string): void {
    this.#label = label;
    if (this.#tty) this.#draw();
    else this.#stream.write(`[${this.#done + 1}/${this.total}] ${label} …\n`);
  }

  /** The current step finished; `summary` (e.g. "812 MB/s") goes on the plain line. */
  step(summary = ''): void {
    this.#done++;
    if (this.#tty) this.#draw();
    else if (summary) this.#stream.write(`[${this.#done}/${this.total}] ${this.#label}: ${summary}\n`);
  }

  /** A message that must not be overwritten by the bar (a warning). */
  note(msg: string): void {
    if (this.#tty && this.#drawn) this.#stream.write('\r\x1b[2K');
    this.#stream.write(`${msg}\n`);
    if (this.#tty && this.#drawn) this.#draw();
  }

  /** Clear the bar and leave one final line. */
  end(summary = ''): void {
    const elapsed = this.#now() - this.#t0;
    if (this.#tty && this.#drawn) this.#stream.write('\r\x1b[2K');
    this.#stream.write(`${this.#done}/${this.total} done in ${formatDuration(elapsed)}${summary ? ` — ${summary}` : ''}\n`);
    this.#drawn = false;
  }

  #draw(): void {
    const cols = Math.max(40, this.#stream.columns ?? 100);
    this.#stream.write(`\r\x1b[2K${progressLine(this.#done, this.total, this.#now() - this.#t0, this.#label, cols)}`);
    this.#drawn = true;
  }
}
