// The benches' percentile: the value below which p % of the samples lie (nearest rank, no
// interpolation), so a p99 over 200 samples is the 199th smallest and one outlier does not set it.

export const percentile = (xs: number[], p: number): number =>
  xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
