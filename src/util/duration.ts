// Durations as the API writes them ("30s", "5m", "1h30m", "250ms"; the schema's pattern), in ms.

/** Milliseconds of a duration string; `fallbackMs` when it is empty or says nothing. */
export function durationMs(d: string | undefined, fallbackMs: number): number {
  if (!d) return fallbackMs;
  let ms = 0;
  for (const [, n, unit] of d.matchAll(/([0-9.]+)(ms|s|m|h)/g)) ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms'];
  return ms || fallbackMs;
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
