// API field values in the units the code works in: durations as the API writes them ("30s", "5m",
// "1h30m", "250ms"; the schema's pattern) in milliseconds, and Kubernetes quantities ("25Mi", "10M",
// "1048576") in bytes. The one place that reads them, for every kind and every process.

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;

/** Milliseconds of a duration ("30s", "5m", "1h30m", "500ms"), or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return ms;
}

/** Milliseconds of an API field's duration; `fallbackMs` when it is empty or says nothing (admission checked its shape). */
export function durationMs(d: string | undefined, fallbackMs: number): number {
  return (d && parseDuration(d)) || fallbackMs;
}

/** Bytes of a Kubernetes quantity; `fallback` when it is empty or not of the schema's shape. */
export function quantityBytes(q: string | undefined, fallback: number): number {
  if (!q) return fallback;
  const m = /^([0-9]+)(Ki|Mi|Gi|k|K|M|G)?$/.exec(q);
  if (!m) return fallback;
  const mult: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1000, K: 1000, M: 1e6, G: 1e9 };
  return Number(m[1]) * (m[2] ? mult[m[2]] : 1);
}

/** A duration in the API's notation, largest units first ("15m", "1h30m", "2m30s", "250ms"). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}` || '0s';
}
