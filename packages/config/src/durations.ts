/** How durations are written, in the environment and in the RELAY_CONFIG file alike. */
export const DURATION_FORMAT = "must be a duration such as 500ms, 30s, 15m, 24h or 7d";

/** `500ms`, `30s`, `15m`, `24h`, `7d`, or a bare number of milliseconds; null when it is none of these. */
export function parseDurationMs(raw: string | number): number | null {
  if (typeof raw === "number") return Number.isInteger(raw) && raw >= 0 ? raw : null;
  const match = /^(\d+)\s*(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match) return null;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? "ms"] ?? 1;
  return Number(match[1]) * unit;
}
