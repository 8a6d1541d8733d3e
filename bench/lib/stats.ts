/** Nearest-rank percentiles of latencies, in the values' unit. */
export function percentiles(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  return {
    count: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The index of the round whose ratio is the median (the lower of the two middle ones for an even
 * count). Each round measures the app and its baseline back to back, so a round's ratio cancels the
 * slow phases of a shared VM; the median then drops the rounds a burst of other work hit anyway.
 */
export function medianRound(ratios: readonly number[]): number {
  const order = ratios.map((ratio, index) => ({ ratio, index })).sort((a, b) => a.ratio - b.ratio);
  return order[Math.floor((order.length - 1) / 2)]?.index ?? 0;
}
