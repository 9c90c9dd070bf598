'use strict';
// Small statistics and formatting helpers for the runner.

const finite = (values) => values.filter((x) => typeof x === 'number' && Number.isFinite(x));

function median(values) {
  const v = finite(values).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function min(values) {
  const v = finite(values);
  return v.length ? Math.min(...v) : null;
}

function max(values) {
  const v = finite(values);
  return v.length ? Math.max(...v) : null;
}

/** value / baseline, or null when either is missing or the baseline is 0. */
function ratio(value, baseline) {
  if (value == null || baseline == null || baseline === 0) return null;
  return value / baseline;
}

/** Human-friendly number: 3 significant digits for small values, grouped integers for large. */
function fmt(x) {
  if (x == null || !Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

function fmtRatio(r) {
  return r == null ? 'n/a' : `${r.toFixed(2)}x`;
}

/** GitHub-flavoured Markdown table (also readable in a terminal). */
function markdownTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}

module.exports = { median, min, max, ratio, fmt, fmtRatio, markdownTable };
