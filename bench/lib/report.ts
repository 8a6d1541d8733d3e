import type { BenchRedis } from "./redis.ts";

/** One line of the final table. `ratio` is measured / baseline where a baseline exists. */
export interface Row {
  scenario: string;
  measured: string;
  baseline: string;
  ratio: number | null;
  target: string;
  met: boolean | null;
}

export interface ScenarioResult {
  rows: Row[];
  /** Every raw figure behind the rows, for bench/results/latest.json. */
  details: Record<string, unknown>;
}

export interface BenchContext {
  redis: BenchRedis;
  rounds: number;
  log: (line: string) => void;
}

const mark = (met: boolean | null) => (met === null ? "-" : met ? "yes" : "NO");

export function formatTable(rows: readonly Row[]): string {
  const header = ["scenario", "measured", "baseline", "ratio", "target", "met?"];
  const cells = rows.map((r) => [
    r.scenario,
    r.measured,
    r.baseline,
    r.ratio === null ? "-" : r.ratio.toFixed(2),
    r.target,
    mark(r.met),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n");
}
