// Epoch seconds below this bound, milliseconds above: 1e11 s is the year 5138, 1e11 ms is 1973.
const SECONDS_UPPER_BOUND = 1e11;

/**
 * The platform's timestamp as an ISO string, or null when it is not a time. Public code sends
 * epoch milliseconds (as a numeric string or a number); 10-digit seconds are tolerated; the seed's
 * own sample is the literal "string", which is kept as given elsewhere and yields no time here.
 */
export function parsePlatformTimestamp(value: string | number | null): string | null {
  if (value === null) return null;
  let epochMs: number;
  if (typeof value === "number" || /^\s*\d+(\.\d+)?\s*$/.test(value)) {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) return null;
    epochMs = n < SECONDS_UPPER_BOUND ? n * 1000 : n;
  } else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value)) {
    epochMs = Date.parse(value);
  } else {
    return null;
  }
  const date = new Date(epochMs);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
