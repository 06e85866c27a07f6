/** Order statistics for the benchmark; nearest-rank percentiles, so every figure is a measured value. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

export const median = (values: readonly number[]) => percentile(values, 50);

export const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
