/**
 * Configuration problems, each tied to the JSON path of the value at fault, e.g.
 * `subsystems[0].namespaces[1].nsid: must be an integer 1..4294967294`.
 */

export interface ConfigIssue {
  /** JSON path from the document root: `ports[0].addr.traddr`, `$` for the root itself. */
  readonly path: string;
  readonly message: string;
}

/** A problem that makes the configuration unusable. */
export type ConfigError = ConfigIssue;
/** Something loaded but worth telling the user (unknown field kept, nvmetcli quirk, ...). */
export type ConfigWarning = ConfigIssue;

export function formatIssue(i: ConfigIssue): string {
  return `${i.path}: ${i.message}`;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Append an object key to a path; keys that are not identifiers are bracket-quoted. */
export function pathKey(base: string, key: string): string {
  if (IDENT.test(key)) return base === '$' || base === '' ? key : `${base}.${key}`;
  const quoted = `[${JSON.stringify(key.length > 64 ? key.slice(0, 64) + '…' : key)}]`;
  return base === '' ? `$${quoted}` : `${base}${quoted}`;
}

/** Append an array index to a path. */
export function pathIndex(base: string, i: number): string {
  return `${base === '' ? '$' : base}[${i}]`;
}

/**
 * Quote a user value for a message without echoing megabytes of it back:
 * long values are cut, control characters escaped.
 */
export function showValue(v: unknown, max = 48): string {
  let s: string;
  if (typeof v === 'string') {
    const cut = v.length > max ? v.slice(0, max) + '…' : v;
    s = JSON.stringify(cut);
    if (v.length > max) s += ` (${v.length} characters)`;
  } else if (v === undefined) {
    s = 'undefined';
  } else if (Array.isArray(v)) {
    s = `an array`;
  } else if (typeof v === 'object' && v !== null) {
    s = 'an object';
  } else {
    s = String(v);
  }
  return s;
}

/** The JSON type name of a value, for "must be X, got Y" messages. */
export function jsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Collects issues for one parse, bounded so hostile input cannot make it huge. */
export class IssueSink {
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigWarning[] = [];
  private droppedErrors = 0;
  private droppedWarnings = 0;

  constructor(private readonly maxIssues = 200) {}

  error(path: string, message: string): void {
    if (this.errors.length < this.maxIssues) this.errors.push({ path, message });
    else this.droppedErrors++;
  }

  warn(path: string, message: string): void {
    if (this.warnings.length < this.maxIssues) this.warnings.push({ path, message });
    else this.droppedWarnings++;
  }

  get hasErrors(): boolean {
    return this.errors.length > 0 || this.droppedErrors > 0;
  }

  /** Close the lists, noting how many issues were left out. */
  finish(): { errors: ConfigError[]; warnings: ConfigWarning[] } {
    if (this.droppedErrors > 0) this.errors.push({ path: '$', message: `${this.droppedErrors} more errors not shown` });
    if (this.droppedWarnings > 0) {
      this.warnings.push({ path: '$', message: `${this.droppedWarnings} more warnings not shown` });
    }
    return { errors: this.errors, warnings: this.warnings };
  }
}
