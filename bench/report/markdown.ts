/**
 * GitHub-flavoured Markdown tables, and the same rows as a plain-text table for
 * the terminal. Cells are strings; numbers are formatted by the caller.
 */

export type Align = 'left' | 'right' | 'center';

export interface Column {
  readonly header: string;
  readonly align?: Align;
}

/** Pipes would end the cell and newlines the row: escape the one, flatten the other. */
export function escapeCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function delimiter(a: Align | undefined, width: number): string {
  const w = Math.max(3, width);
  if (a === 'right') return `${'-'.repeat(w - 1)}:`;
  if (a === 'center') return `:${'-'.repeat(w - 2)}:`;
  return '-'.repeat(w);
}

function checkShape(columns: readonly Column[], rows: readonly (readonly string[])[]): void {
  if (columns.length === 0) throw new RangeError('a table needs at least one column');
  rows.forEach((r, i) => {
    if (r.length !== columns.length) throw new RangeError(`row ${i} has ${r.length} cells, the table has ${columns.length} columns`);
  });
}

/** A Markdown table, columns padded so the source reads as a table too. */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  checkShape(columns, rows);
  const head = columns.map((c) => escapeCell(c.header));
  const body = rows.map((r) => r.map(escapeCell));
  const widths = head.map((h, i) => Math.max(3, [h, ...body.map((r) => r[i]!)].reduce((m, s) => Math.max(m, [...s].length), 0)));
  const pad = (s: string, i: number): string => {
    const extra = widths[i]! - [...s].length;
    return columns[i]!.align === 'right' ? ' '.repeat(extra) + s : s + ' '.repeat(extra);
  };
  const line = (cells: string[]): string => `| ${cells.map(pad).join(' | ')} |`;
  return [line(head), `| ${columns.map((c, i) => delimiter(c.align, widths[i]!)).join(' | ')} |`, ...body.map(line)].join('\n');
}

/** The same table without Markdown syntax, for a terminal. */
export function textTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  checkShape(columns, rows);
  const all = [columns.map((c) => c.header), ...rows];
  const widths = columns.map((_, i) => all.reduce((m, r) => Math.max(m, [...r[i]!].length), 0));
  return all
    .map((r) => r.map((s, i) => {
      const extra = widths[i]! - [...s].length;
      return columns[i]!.align === 'right' ? ' '.repeat(extra) + s : s + ' '.repeat(extra);
    }).join('  ').trimEnd())
    .join('\n');
}
