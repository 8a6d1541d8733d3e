import { parseDurationMs } from "@yuju-relay/config";
import { InvalidArgumentError } from "commander";

/**
 * `--since`: how far back, as a duration (`2h`, `30m`, `7d`), a time of today (`10:00`, local
 * time), or a date and time (`2026-11-22T10:00:00Z`). Resolves to a point in time (ms since epoch).
 */
export function parseSince(value: string, now = Date.now()): number {
  const ago = parseDurationMs(value);
  if (ago !== null) return now - ago;
  const clock = /^(\d{1,2}):(\d{2})$/.exec(value);
  if (clock) {
    const at = new Date(now);
    at.setHours(Number(clock[1]), Number(clock[2]), 0, 0);
    // "since 10:00" typed at 09:00 means yesterday's 10:00.
    if (at.getTime() > now) at.setDate(at.getDate() - 1);
    return at.getTime();
  }
  const at = Date.parse(value);
  if (!Number.isNaN(at)) return at;
  throw new InvalidArgumentError("expected a duration such as 30m, 2h or 7d, a time such as 10:00, or an ISO date");
}
