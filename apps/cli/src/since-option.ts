import { parseTimeBound } from "@yuju-relay/inspector";
import { InvalidArgumentError } from "commander";

/**
 * `--since`: how far back, as a duration (`2h`, `30m`, `7d`), a time of today (`10:00`, local
 * time), epoch milliseconds, or a date and time (`2026-11-22T10:00:00Z`). Resolves to a point in
 * time (ms since epoch), as the dashboard's `since` does.
 */
export function parseSince(value: string, now = Date.now()): number {
  const at = parseTimeBound(value, now);
  if (at !== null) return at;
  throw new InvalidArgumentError("expected a duration such as 30m, 2h or 7d, a time such as 10:00, or an ISO date");
}
