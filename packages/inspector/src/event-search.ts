import {
  ALL_EVENTS_INDEX_VALUE,
  eventIndexKey,
  eventRecordKey,
  INDEX_FIELDS,
  type DestinationStatus,
  type EventSummary,
} from "@yuju-relay/queue";
import { candidateEventIds } from "./event-jobs.ts";
import type { DeliveryState } from "./event-read-model.ts";
import type { EventSources } from "./event-sources.ts";

/** What `/events` and `GET /api/events` filter by. Every field is optional. */
export interface EventFilter {
  /** A messageId, an event id (`msg_…`, `room_left_…`), a chatId, a contactId, a roomId or a botWxid. */
  q?: string;
  /** With `destination`: that destination's delivery is in this state; without: any destination's. */
  state?: DeliveryState;
  destination?: string;
  /** The event type (`message.received`) or the message kind (`text`, `image` …). */
  type?: string;
  /** Acceptance time bounds, ms since epoch, inclusive. */
  since?: number;
  until?: number;
}

/** One row of a search: what the list shows. */
export interface EventListItem {
  id: string;
  type: string;
  kind: string | null;
  receivedAt: string;
  messageId: string | null;
  chatId: string | null;
  contactId: string | null;
  roomId: string | null;
  botWxid: string | null;
  excerpt: string | null;
  deliveries: Array<{ destination: string; state: DeliveryState; reason: string | null }>;
}

export interface EventPage {
  events: EventListItem[];
  /** Pass back as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}

interface Entry {
  id: string;
  score: number;
}

// Where a page stops: the score of the last entry looked at, and the ids at that very score
// already looked at (two events can share a millisecond).
interface Cursor {
  score: number;
  seen: string[];
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString("base64url");

export function decodeCursor(raw: string | undefined): Cursor | null {
  if (!raw) return null;
  try {
    const c = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as Cursor;
    if (typeof c.score === "number" && Array.isArray(c.seen)) return c;
  } catch {
    // falls through
  }
  throw new RangeError("cursor is not one this server gave");
}

export const MAX_LIMIT = 200;
// Ids read from the index per round trip, and at most per page: a filter that matches little
// answers a short page with a cursor rather than walking 100 000 entries in one request.
const BATCH = 200;
const SCAN_BUDGET = 5_000;

/** The index keys a search box's text may name: the chat, contact, room or hosted account. */
function indexKeysFor(prefix: string, q: string | undefined): string[] {
  if (!q) return [eventIndexKey(prefix, "all", ALL_EVENTS_INDEX_VALUE)];
  return INDEX_FIELDS.map((field) => eventIndexKey(prefix, field, q));
}

type Order = "newest" | "oldest";

/**
 * Events matching a filter, newest first, a page at a time. Reads only the index zsets and the
 * records they name: no key scan, no job scan. `q` matches an event's own id (or a messageId) and
 * every index it may be a value of.
 */
export function searchEvents(
  sources: EventSources,
  filter: EventFilter,
  page: { limit: number; cursor?: string },
): Promise<EventPage> {
  return walkIndex(sources, indexKeysFor(sources.prefix, filter.q), filter, page, "newest");
}

/** A conversation's events, oldest first: a thread, read from the chat's index. */
export function conversationEvents(
  sources: EventSources,
  chatId: string,
  page: { limit: number; cursor?: string },
): Promise<EventPage> {
  return walkIndex(sources, [eventIndexKey(sources.prefix, "chat", chatId)], { q: undefined }, page, "oldest");
}

async function walkIndex(
  sources: EventSources,
  keys: string[],
  filter: EventFilter,
  page: { limit: number; cursor?: string },
  order: Order,
): Promise<EventPage> {
  const limit = Math.max(1, Math.min(MAX_LIMIT, page.limit));
  let cursor = decodeCursor(page.cursor);
  const events: EventListItem[] = [];
  // The event a search box names by its own id comes first, on the first page only.
  if (!cursor && filter.q) {
    for (const id of candidateEventIds(filter.q)) {
      const item = await itemOf(sources, id);
      if (item && matches(item, filter)) events.push(item);
    }
  }
  const shown = new Set(events.map((e) => e.id));
  let scanned = 0;
  for (;;) {
    const entries = await nextEntries(sources, keys, filter, cursor, order);
    if (entries.length === 0) return { events, nextCursor: null };
    const items = await itemsOf(
      sources,
      entries.map((e) => e.id),
    );
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      cursor =
        cursor && cursor.score === entry.score
          ? { score: entry.score, seen: [...cursor.seen, entry.id] }
          : { score: entry.score, seen: [entry.id] };
      const item = items[i];
      if (item && !shown.has(item.id) && matches(item, filter)) {
        shown.add(item.id);
        events.push(item);
        if (events.length === limit) return { events, nextCursor: encodeCursor(cursor) };
      }
    }
    scanned += entries.length;
    if (scanned >= SCAN_BUDGET) return { events, nextCursor: encodeCursor(cursor!) };
  }
}

/** The next entries of the merged keys past the cursor, within since/until, in order. */
async function nextEntries(
  sources: EventSources,
  keys: string[],
  filter: EventFilter,
  cursor: Cursor | null,
  order: Order,
): Promise<Entry[]> {
  const seen = new Set(cursor?.seen ?? []);
  const newest = order === "newest";
  const from = cursor ? cursor.score : newest ? (filter.until ?? "+inf") : (filter.since ?? "-inf");
  const to = newest ? (filter.since ?? "-inf") : (filter.until ?? "+inf");
  const count = BATCH + seen.size;
  const pipeline = sources.redis.pipeline();
  for (const key of keys) {
    if (newest) pipeline.zrevrangebyscore(key, from, to, "WITHSCORES", "LIMIT", 0, count);
    else pipeline.zrangebyscore(key, from, to, "WITHSCORES", "LIMIT", 0, count);
  }
  const answers = (await pipeline.exec()) ?? [];
  const byId = new Map<string, Entry>();
  for (const [error, flat] of answers) {
    if (error) throw error;
    const list = flat as string[];
    for (let i = 0; i < list.length; i += 2) {
      const id = list[i]!;
      const score = Number(list[i + 1]);
      if (cursor && score === cursor.score && seen.has(id)) continue;
      byId.set(id, { id, score });
    }
  }
  const sign = newest ? -1 : 1;
  return [...byId.values()]
    .sort((a, b) => sign * (a.score - b.score) || sign * a.id.localeCompare(b.id))
    .slice(0, BATCH);
}

async function itemsOf(sources: EventSources, ids: string[]): Promise<Array<EventListItem | null>> {
  const pipeline = sources.redis.pipeline();
  for (const id of ids) pipeline.hgetall(eventRecordKey(sources.prefix, id));
  const answers = (await pipeline.exec()) ?? [];
  return answers.map(([error, hash]) => (error ? null : itemOfHash(hash as Record<string, string>)));
}

async function itemOf(sources: EventSources, id: string): Promise<EventListItem | null> {
  return itemOfHash(await sources.redis.hgetall(eventRecordKey(sources.prefix, id)));
}

/** A list row from an event's record hash; null when it has no summary (expired, or not written yet). */
export function itemOfHash(hash: Record<string, string>): EventListItem | null {
  if (!hash.summary) return null;
  const summary = JSON.parse(hash.summary) as EventSummary;
  const deliveries: EventListItem["deliveries"] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith("d:")) continue;
    const status = JSON.parse(value) as DestinationStatus;
    deliveries.push({ destination: field.slice(2), state: status.state, reason: status.reason });
  }
  deliveries.sort((a, b) => a.destination.localeCompare(b.destination));
  return {
    id: summary.id,
    type: summary.type,
    kind: summary.kind,
    receivedAt: summary.receivedAt,
    messageId: summary.messageId,
    chatId: summary.chatId,
    contactId: summary.contactId,
    roomId: summary.roomId,
    botWxid: summary.botWxid,
    excerpt: summary.excerpt,
    deliveries,
  };
}

function matches(item: EventListItem, filter: EventFilter): boolean {
  const at = Date.parse(item.receivedAt);
  if (filter.since !== undefined && at < filter.since) return false;
  if (filter.until !== undefined && at > filter.until) return false;
  if (filter.type && item.type !== filter.type && item.kind !== filter.type) return false;
  const deliveries = filter.destination
    ? item.deliveries.filter((d) => d.destination === filter.destination)
    : item.deliveries;
  if (filter.destination && deliveries.length === 0) return false;
  if (filter.state && !deliveries.some((d) => d.state === filter.state)) return false;
  return true;
}
