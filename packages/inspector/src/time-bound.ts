import { parseDurationMs } from "@yuju-relay/config";

/**
 * A point in time as a person or a script gives it: a duration back from now (`2h`, `30m`, `7d`),
 * a time of today (`10:00`, local time; yesterday's when it is not yet that time), epoch
 * milliseconds, or an ISO 8601 date. Null when it is none of these. What `relay … --since` and the
 * inspector's `since`/`until` take.
 */
export function parseTimeBound(value: string, now = Date.now()): number | null {
  // Bare digits are epoch milliseconds: a duration back from now needs its unit.
  if (/^\d+$/.test(value)) return Number(value);
  const ago = parseDurationMs(value);
  if (ago !== null) return now - ago;
  const clock = /^(\d{1,2}):(\d{2})$/.exec(value);
  if (clock) {
    const at = new Date(now);
    at.setHours(Number(clock[1]), Number(clock[2]), 0, 0);
    if (at.getTime() > now) at.setDate(at.getDate() - 1);
    return at.getTime();
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : at;
}
