import type { DeliveryState, EventFilter } from "@yuju-relay/inspector";
import { parseTimeBound } from "@yuju-relay/inspector";

export const FILTER_STATES: readonly DeliveryState[] = [
  "delivered",
  "retrying",
  "failed",
  "filtered",
  "waiting",
  "queued",
  "rate_limited",
  "paused",
];

type Query = Record<string, string | string[] | undefined>;

export const one = (query: Query, name: string): string | undefined => {
  const value = query[name];
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text ? text : undefined;
};

/** The search filters of a query string (the page's form and the API share it); an error names the parameter. */
export function filterOfQuery(query: Query, now = Date.now()): { filter: EventFilter } | { error: string } {
  const filter: EventFilter = {};
  filter.q = one(query, "q");
  filter.destination = one(query, "destination");
  filter.type = one(query, "type");
  const state = one(query, "state");
  if (state) {
    if (!FILTER_STATES.includes(state as DeliveryState)) {
      return { error: `state: expected one of ${FILTER_STATES.join(", ")}` };
    }
    filter.state = state as DeliveryState;
  }
  for (const bound of ["since", "until"] as const) {
    const raw = one(query, bound);
    if (!raw) continue;
    const at = parseTimeBound(raw, now);
    if (at === null) return { error: `${bound}: expected ISO 8601, epoch milliseconds, or a duration such as 2h` };
    filter[bound] = at;
  }
  return { filter };
}

export function limitOfQuery(query: Query, fallback: number): number {
  const n = Number(one(query, "limit") ?? fallback);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
