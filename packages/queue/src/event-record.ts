import type { RelayEvent } from "@yuju-relay/protocol";
import type { RedisClient } from "./connections.ts";

/**
 * The record of an event and of every delivery attempt made for it, kept in Redis beside BullMQ's
 * jobs, for as long as the jobs' retention (`recordTtlMs`). It is what `relay event`, the
 * dashboard's event inspector and a callback job run again after a crash read:
 *
 *   <prefix>:event:<eventId>            hash   `summary` → EventSummary (JSON), and per destination
 *                                              `d:<name>` → DestinationStatus (JSON), the latest word
 *   <prefix>:event-attempts:<eventId>   list   DeliveryAttempt (JSON), in the order they were made
 *   <prefix>:event-index:<field>:<val>  zset   event ids by acceptance time (ms), for one chat,
 *                                              contact, room or hosted account; `…:all:-` for all
 *
 * An attempt is data, never a sentence: its status, error class and Retry-After are fields, so no
 * reader parses an English failure message. A successful inline attempt has no BullMQ job at all:
 * this record is then the only trace of it, which is why the callback job writes it before it
 * completes.
 */

/** What an attempt's end meant for the delivery. */
export type AttemptOutcome = "delivered" | "retrying" | "failed" | "rate_limited" | "paused";

/** Why an attempt got no HTTP answer; `other` for anything not told apart. */
export type AttemptErrorClass = "timeout" | "connection_refused" | "dns" | "tls" | "reset" | "other";

export interface DeliveryAttempt {
  destination: string;
  /** 1 for the first attempt (inline or queued), counting every attempt of the destination's delivery. */
  attempt: number;
  /** Made by the callback job itself (the first attempt on the happy path), not by the destination's queue. */
  inline: boolean;
  /** When the attempt started (ISO 8601). */
  at: string;
  durationMs: number;
  /** The HTTP status answered, or null when there was no answer (see `error`). */
  status: number | null;
  error: AttemptErrorClass | null;
  /** The answer's Retry-After, in ms, when it sent one. */
  retryAfterMs: number | null;
  /** The first 1 KB of the answer's body, cut on a character boundary; null when empty or none. */
  responseExcerpt: string | null;
  /** A 3xx's Location header (redirects are never followed). */
  location?: string | null;
  outcome: AttemptOutcome;
  /** The `webhook-id` the attempt carried (the event id, or an as-new replay's id). */
  webhookId: string;
}

/**
 * Where a destination stands with an event, as the record says:
 *   queued     handed to the destination's queue, no attempt yet (unhealthy, rate-limited or paused
 *              destination, or an ordered one)
 *   waiting    in an ordered conversation, behind another event
 *   filtered   not wanted: `reason` names the condition that excluded it
 *   delivered | retrying | failed | rate_limited | paused   the last attempt's outcome
 */
export type DestinationState = "queued" | "waiting" | "filtered" | AttemptOutcome;

export interface DestinationStatus {
  state: DestinationState;
  /** For `filtered`, the condition (`filter.kinds: image not in [text]`); for others, a short why. */
  reason: string | null;
  /** The delivery job in `deliveries.<name>`, when there is one. */
  jobId: string | null;
  at: string;
}

/** What the inspector lists and searches by; written once, when the callback job takes the event. */
export interface EventSummary {
  id: string;
  type: string;
  /** The message kind (`text`, `image` …), null for room events. */
  kind: string | null;
  receivedAt: string;
  callbackJobId: string;
  messageId: string | null;
  chatId: string | null;
  contactId: string | null;
  roomId: string | null;
  botWxid: string | null;
  /** The first 140 characters of a text message. */
  excerpt: string | null;
}

/** The fields an event can be searched by, besides its ids. */
export type IndexField = "chat" | "contact" | "room" | "bot";
export const INDEX_FIELDS: readonly IndexField[] = ["chat", "contact", "room", "bot"];

export const eventRecordKey = (prefix: string, eventId: string) => `${prefix}:event:${eventId}`;
export const eventAttemptsKey = (prefix: string, eventId: string) => `${prefix}:event-attempts:${eventId}`;
export const eventIndexKey = (prefix: string, field: IndexField | "all", value: string) =>
  `${prefix}:event-index:${field}:${value}`;
export const ALL_EVENTS_INDEX_VALUE = "-";

/**
 * How many event ids one index key keeps (newest): a chat with more than this within retention
 * shows its newest ones; the `all` index keeps `ALL_EVENTS_INDEX_SIZE`. Bounded so that a busy
 * chat or a long retention cannot grow a key without limit.
 */
export const INDEX_SIZE = 1_000;
export const ALL_EVENTS_INDEX_SIZE = 100_000;

const EXCERPT_CHARS = 140;

export function eventSummary(event: RelayEvent, receivedAt: string, callbackJobId: string): EventSummary {
  if (event.type === "message.received") {
    const d = event.data;
    return {
      id: event.id,
      type: event.type,
      kind: d.kind,
      receivedAt,
      callbackJobId,
      messageId: d.messageId,
      chatId: d.chatId,
      contactId: d.contact.id,
      roomId: d.room?.id ?? null,
      botWxid: d.bot.wxid,
      excerpt: typeof d.text === "string" ? [...d.text].slice(0, EXCERPT_CHARS).join("") : null,
    };
  }
  const d = event.data;
  return {
    id: event.id,
    type: event.type,
    kind: null,
    receivedAt,
    callbackJobId,
    messageId: null,
    chatId: d.room.chatId,
    contactId: null,
    roomId: d.room.id,
    botWxid: d.bot.wxid,
    excerpt: null,
  };
}

/** The index keys an event is listed under, the `all` index first. */
export function indexKeysOf(prefix: string, summary: EventSummary): string[] {
  const keys = [eventIndexKey(prefix, "all", ALL_EVENTS_INDEX_VALUE)];
  const values: Record<IndexField, string | null> = {
    chat: summary.chatId,
    contact: summary.contactId,
    room: summary.roomId,
    bot: summary.botWxid,
  };
  for (const field of INDEX_FIELDS) {
    const value = values[field];
    if (value) keys.push(eventIndexKey(prefix, field, value));
  }
  return keys;
}

// One script call per batch of events (a turn's worth): per event, KEYS are its record hash then its
// index keys; ARGV[1] the TTL, ARGV[2] the index cap, ARGV[3] the `all` index cap, then per event:
// the number of index keys, the score, the event id, the number of hash fields, then field, value ….
// Every key is declared, so on a Cluster with a hash-tagged prefix the call stays in one slot.
const RECORD_EVENTS = `
local ttl = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local allCap = tonumber(ARGV[3])
local k = 1
local a = 4
while a <= #ARGV do
  local nIndex = tonumber(ARGV[a])
  local score = ARGV[a + 1]
  local id = ARGV[a + 2]
  local nFields = tonumber(ARGV[a + 3])
  a = a + 4
  local hash = KEYS[k]
  k = k + 1
  for f = 1, nFields do
    redis.call('HSET', hash, ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  redis.call('PEXPIRE', hash, ttl)
  for x = 1, nIndex do
    local key = KEYS[k]
    k = k + 1
    redis.call('ZADD', key, score, id)
    local limit = cap
    if x == 1 then limit = allCap end
    if redis.call('ZCARD', key) > limit then redis.call('ZREMRANGEBYRANK', key, 0, -limit - 1) end
    redis.call('PEXPIRE', key, ttl)
  end
end
return 1`;

// Per attempt, KEYS: the event's attempts list, then its record hash. ARGV[1] the TTL, then per
// attempt: the attempt (JSON), the destination's field (`d:<name>`), its status (JSON).
const RECORD_ATTEMPTS = `
local ttl = tonumber(ARGV[1])
local a = 2
for k = 1, #KEYS, 2 do
  redis.call('RPUSH', KEYS[k], ARGV[a])
  redis.call('PEXPIRE', KEYS[k], ttl)
  redis.call('HSET', KEYS[k + 1], ARGV[a + 1], ARGV[a + 2])
  redis.call('PEXPIRE', KEYS[k + 1], ttl)
  a = a + 3
end
return 1`;

const RECORD_EVENTS_COMMAND = "yujuRecordEvents";
const RECORD_ATTEMPTS_COMMAND = "yujuRecordAttempts";
type RecordingRedis = RedisClient & {
  [RECORD_EVENTS_COMMAND](numKeys: number, ...keysThenArgs: Array<string | number>): Promise<number>;
  [RECORD_ATTEMPTS_COMMAND](numKeys: number, ...keysThenArgs: Array<string | number>): Promise<number>;
};

function recording(redis: RedisClient): RecordingRedis {
  if (!(RECORD_EVENTS_COMMAND in redis)) redis.defineCommand(RECORD_EVENTS_COMMAND, { lua: RECORD_EVENTS });
  if (!(RECORD_ATTEMPTS_COMMAND in redis)) redis.defineCommand(RECORD_ATTEMPTS_COMMAND, { lua: RECORD_ATTEMPTS });
  return redis as RecordingRedis;
}

export const destinationField = (destination: string) => `d:${destination}`;

/** One event taken by a callback job: its summary, and each destination's first word (filtered, queued …). */
export interface EventRecordWrite {
  summary: EventSummary;
  destinations: ReadonlyArray<{ name: string; status: DestinationStatus }>;
}

/** Writes a batch of events' records and index entries: one script call. */
export async function recordEvents(
  redis: RedisClient,
  prefix: string,
  ttlMs: number,
  events: readonly EventRecordWrite[],
): Promise<void> {
  await recordEventsAndAttempts(redis, prefix, ttlMs, events, []);
}

function recordEventsArgs(prefix: string, ttlMs: number, events: readonly EventRecordWrite[]) {
  const keys: string[] = [];
  const args: Array<string | number> = [Math.max(1, Math.round(ttlMs)), INDEX_SIZE, ALL_EVENTS_INDEX_SIZE];
  for (const { summary, destinations } of events) {
    const indexKeys = indexKeysOf(prefix, summary);
    keys.push(eventRecordKey(prefix, summary.id), ...indexKeys);
    args.push(indexKeys.length, Date.parse(summary.receivedAt) || Date.now(), summary.id, 1 + destinations.length);
    args.push("summary", JSON.stringify(summary));
    for (const d of destinations) args.push(destinationField(d.name), JSON.stringify(d.status));
  }
  return [keys.length, ...keys, ...args] as const;
}

function recordAttemptsArgs(prefix: string, ttlMs: number, attempts: readonly AttemptWrite[]) {
  const keys: string[] = [];
  const args: Array<string | number> = [Math.max(1, Math.round(ttlMs))];
  for (const { eventId, attempt, status } of attempts) {
    keys.push(eventAttemptsKey(prefix, eventId), eventRecordKey(prefix, eventId));
    args.push(JSON.stringify(attempt), destinationField(attempt.destination), JSON.stringify(status));
  }
  return [keys.length, ...keys, ...args] as const;
}

/**
 * Events' records and attempts together, in one round trip (a pipeline of the two scripts, the
 * events first: an attempt's status is the later word). What a callback job writes once its inline
 * attempts are done.
 */
export async function recordEventsAndAttempts(
  redis: RedisClient,
  prefix: string,
  ttlMs: number,
  events: readonly EventRecordWrite[],
  attempts: readonly AttemptWrite[],
): Promise<void> {
  if (events.length === 0 && attempts.length === 0) return;
  const client = recording(redis);
  if (attempts.length === 0) {
    await client[RECORD_EVENTS_COMMAND](...recordEventsArgs(prefix, ttlMs, events));
    return;
  }
  if (events.length === 0) {
    await client[RECORD_ATTEMPTS_COMMAND](...recordAttemptsArgs(prefix, ttlMs, attempts));
    return;
  }
  const pipeline = client.pipeline() as unknown as RecordingRedis;
  void pipeline[RECORD_EVENTS_COMMAND](...recordEventsArgs(prefix, ttlMs, events));
  void pipeline[RECORD_ATTEMPTS_COMMAND](...recordAttemptsArgs(prefix, ttlMs, attempts));
  const replies =
    (await (pipeline as unknown as { exec(): Promise<Array<[Error | null, unknown]> | null> }).exec()) ?? [];
  const failed = replies.find(([error]) => error);
  if (failed) throw failed[0];
}

/** Each destination's latest word on an event (`d:<name>`): what a callback job run again reads. */
export async function readDestinationStatuses(
  redis: RedisClient,
  prefix: string,
  eventId: string,
): Promise<Record<string, DestinationStatus>> {
  const hash = await redis.hgetall(eventRecordKey(prefix, eventId));
  const statuses: Record<string, DestinationStatus> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith("d:")) statuses[field.slice(2)] = JSON.parse(value) as DestinationStatus;
  }
  return statuses;
}

/** One attempt, and the destination's status it leads to. */
export interface AttemptWrite {
  eventId: string;
  attempt: DeliveryAttempt;
  status: DestinationStatus;
}

/** Appends a batch of attempts to their events' records: one script call. */
export async function recordAttempts(
  redis: RedisClient,
  prefix: string,
  ttlMs: number,
  attempts: readonly AttemptWrite[],
): Promise<void> {
  await recordEventsAndAttempts(redis, prefix, ttlMs, [], attempts);
}

/** Everything the record holds of one event; null when unknown or past retention. */
export interface EventRecord {
  summary: EventSummary | null;
  destinations: Record<string, DestinationStatus>;
  attempts: DeliveryAttempt[];
}

export async function readEventRecord(
  redis: RedisClient,
  prefix: string,
  eventId: string,
): Promise<EventRecord | null> {
  const [hash, attempts] = await Promise.all([
    redis.hgetall(eventRecordKey(prefix, eventId)),
    redis.lrange(eventAttemptsKey(prefix, eventId), 0, -1),
  ]);
  if (Object.keys(hash).length === 0 && attempts.length === 0) return null;
  const destinations: Record<string, DestinationStatus> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith("d:")) destinations[field.slice(2)] = JSON.parse(value) as DestinationStatus;
  }
  return {
    summary: hash.summary ? (JSON.parse(hash.summary) as EventSummary) : null,
    destinations,
    attempts: attempts.map((a) => JSON.parse(a) as DeliveryAttempt),
  };
}
