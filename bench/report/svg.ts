/**
 * Hand-written SVG bar charts (no dependency): one group of bars per category,
 * one bar per series, a y axis with round ticks, a legend and optional reference
 * lines. The output is a standalone SVG document that GitHub renders inline.
 */

export interface BarSeries {
  readonly name: string;
  /** CSS colour of the bars. */
  readonly color: string;
  /** One value per category; null = not measured (drawn as a hollow marker labelled "n/a"). */
  readonly values: readonly (number | null)[];
}

export interface ReferenceLine {
  readonly value: number;
  readonly label: string;
}

export interface BarChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
  readonly referenceLines?: readonly ReferenceLine[];
  /** Print each bar's value above it (default: when bars are wide enough). */
  readonly valueLabels?: boolean;
  /** Formats tick and value labels (default: up to 3 significant digits). */
  readonly format?: (v: number) => string;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Ticks 0, step, 2·step, … covering `max`, with step 1, 2 or 5 × 10^k and about `target` intervals. */
export function niceTicks(max: number, target = 5): number[] {
  if (!Number.isFinite(max) || max <= 0) return [0, 1];
  const raw = max / Math.max(1, target);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  const step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
  const n = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  // Multiply rather than accumulate so 0.1-steps do not drift (0.30000000000000004).
  for (let i = 0; i <= n; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

function defaultFormat(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

/** Swatch, gap, text (about 7.5 px per character at 12 px) and spacing to the next item. */
function legendItemWidth(name: string): number {
  return 16 + Math.ceil(name.length * 7.5) + 18;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export function barChartSvg(spec: BarChartSpec): string {
  const { categories, series } = spec;
  if (series.length === 0) throw new RangeError('a bar chart needs at least one series');
  for (const s of series) {
    if (s.values.length !== categories.length) {
      throw new RangeError(`series "${s.name}" has ${s.values.length} values for ${categories.length} categories`);
    }
  }
  const fmt = spec.format ?? defaultFormat;
  const barW = Math.max(6, Math.min(28, Math.floor(480 / Math.max(1, categories.length * series.length))));
  const groupGap = Math.max(8, Math.round(barW * 0.8));
  const groupW = series.length * barW + groupGap;
  // Rotated labels reach left of their group by about cos(40°) × their width: the first
  // groups' labels must not run off the image.
  const labelReach = (i: number): number => Math.min(categories[i]!.length, 48) * 6.2 * Math.cos((40 * Math.PI) / 180) - (i + 0.5) * groupW;
  let left = 72;
  for (let i = 0; i < Math.min(categories.length, 8); i++) left = Math.max(left, Math.ceil(labelReach(i) + 8));
  const right = 24;
  const top = spec.subtitle ? 74 : 56;
  const plotH = 260;
  const longest = categories.reduce((m, c) => Math.max(m, c.length), 0);
  // Labels are rotated 40°: their vertical extent is about sin(40°) × text width.
  const labelH = Math.ceil(Math.min(longest, 48) * 6.2 * 0.65) + 16;
  // Wide enough for the title, subtitle and legend as well as the bars (character widths estimated).
  const refs = spec.referenceLines ?? [];
  const legendW = [...series.map((s) => s.name), ...refs.map((r) => r.label)].reduce((w, n) => w + legendItemWidth(n), 0);
  const textW = Math.max(spec.title.length * 10, (spec.subtitle?.length ?? 0) * 6.8, legendW + 40);
  const plotW = Math.max(260, categories.length * groupW, Math.ceil(textW) - left - right + 72);
  const width = left + plotW + right;
  // Groups spread over the plot when the text made it wider than the bars need.
  const slotW = categories.length > 0 ? plotW / categories.length : plotW;
  const height = top + plotH + labelH + 8;

  let max = 0;
  for (const s of series) for (const v of s.values) if (v !== null && Number.isFinite(v) && v > max) max = v;
  // Head room above a reference line so its label does not sit on the plot's top edge.
  for (const r of refs) if (r.value * 1.15 > max) max = r.value * 1.15;
  const ticks = niceTicks(max);
  const yMax = ticks[ticks.length - 1]!;
  const y = (v: number): number => top + plotH - (Math.max(0, Math.min(v, yMax)) / yMax) * plotH;
  const showValues = spec.valueLabels ?? barW >= 14;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(spec.title)}">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" ${FONT} font-size="16" font-weight="600" fill="#111">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="${left}" y="44" ${FONT} font-size="12" fill="#555">${escapeXml(spec.subtitle)}</text>`);

  // Legend above the plot, right-aligned: series swatches, then reference lines as dashed strokes.
  let lx = width - right;
  const legendY = top - 16;
  for (let i = refs.length - 1; i >= 0; i--) {
    const r = refs[i]!;
    lx -= legendItemWidth(r.label);
    out.push(`<line x1="${lx}" y1="${legendY - 4}" x2="${lx + 12}" y2="${legendY - 4}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="4 2"/>`);
    out.push(`<text x="${lx + 16}" y="${legendY}" ${FONT} font-size="12" fill="#c0392b">${escapeXml(r.label)}</text>`);
  }
  for (let i = series.length - 1; i >= 0; i--) {
    const s = series[i]!;
    lx -= legendItemWidth(s.name);
    out.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${escapeXml(s.color)}"/>`);
    out.push(`<text x="${lx + 16}" y="${legendY}" ${FONT} font-size="12" fill="#222">${escapeXml(s.name)}</text>`);
  }

  // Grid and y axis.
  for (const t of ticks) {
    const ty = y(t).toFixed(1);
    out.push(`<line x1="${left}" y1="${ty}" x2="${left + plotW}" y2="${ty}" stroke="#e3e3e3" stroke-width="1"/>`);
    out.push(`<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" ${FONT} font-size="11" fill="#444" text-anchor="end">${escapeXml(fmt(t))}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#888"/>`);
  out.push(`<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#888"/>`);
  const yMid = top + plotH / 2;
  out.push(`<text x="16" y="${yMid}" ${FONT} font-size="12" fill="#333" text-anchor="middle" transform="rotate(-90 16 ${yMid})">${escapeXml(spec.yLabel)}</text>`);

  // Bars.
  categories.forEach((cat, ci) => {
    const gx = left + ci * slotW + (slotW - series.length * barW) / 2;
    series.forEach((s, si) => {
      const v = s.values[ci]!;
      const x = gx + si * barW;
      if (v === null || !Number.isFinite(v)) {
        out.push(`<rect x="${x + 1}" y="${top + plotH - 8}" width="${barW - 2}" height="8" fill="none" stroke="${escapeXml(s.color)}" stroke-dasharray="2 2"><title>${escapeXml(`${cat} — ${s.name}: n/a`)}</title></rect>`);
        return;
      }
      const by = y(v);
      const h = Math.max(v > 0 ? 1 : 0, top + plotH - by);
      out.push(`<rect x="${x + 1}" y="${(top + plotH - h).toFixed(1)}" width="${barW - 2}" height="${h.toFixed(1)}" fill="${escapeXml(s.color)}"><title>${escapeXml(`${cat} — ${s.name}: ${fmt(v)}`)}</title></rect>`);
      if (showValues) {
        out.push(`<text x="${x + barW / 2}" y="${(top + plotH - h - 3).toFixed(1)}" ${FONT} font-size="9" fill="#333" text-anchor="middle">${escapeXml(fmt(v))}</text>`);
      }
    });
    const cx = gx + (series.length * barW) / 2;
    const cy = top + plotH + 12;
    out.push(`<text x="${cx}" y="${cy}" ${FONT} font-size="11" fill="#333" text-anchor="end" transform="rotate(-40 ${cx} ${cy})">${escapeXml(cat)}</text>`);
  });

  // Reference lines on top of the bars (labelled in the legend).
  for (const r of refs) {
    const ry = y(r.value).toFixed(1);
    out.push(`<line x1="${left}" y1="${ry}" x2="${left + plotW}" y2="${ry}" stroke="#c0392b" stroke-width="1" stroke-dasharray="5 3"><title>${escapeXml(r.label)}</title></line>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
