/** Small formatters shared by the text and HTML forms. */

/** `45s`, `12m05s`, `3h07m`, `2d04h`: compact and aligned-friendly. */
export function dur(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return "?";
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad2(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad2(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad2(Math.floor((s % 86400) / 3600))}h`;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `1234` → `1.2k`, `2500000` → `2.5M`. */
export function count(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function usd(v: number | null): string {
  if (v === null) return "-";
  return v < 10 ? `$${v.toFixed(2)}` : `$${v.toFixed(1)}`;
}

/** A UTC time short enough for a column: `06:10Z` for a short period, `12-01 06:10Z` otherwise. */
export function clock(iso: string | null, withDate: boolean): string {
  if (!iso) return "?";
  const d = iso.slice(5, 10);
  const t = iso.slice(11, 16);
  return withDate ? `${d} ${t}Z` : `${t}Z`;
}

/** `2026-12-01 06:10Z`. */
export function stamp(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;
}

export function epoch(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}
