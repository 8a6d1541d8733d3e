import { normalizeCallback, type CallbackKind } from "./callback.ts";
import { messageEventId } from "./event-ids.ts";
import { idOf } from "./wire-values.ts";

/**
 * What a log line about a callback's job names: its event id and its messageId (room id for room
 * events, the friend's wxid for a friend acceptance).
 */
export type CallbackSubject =
  | { eventId: string | null; messageId: string | null }
  | { eventId: string | null; roomId: string | null }
  | { eventId: string | null; wxid: string | null };

const field = (holder: unknown, key: string): unknown =>
  typeof holder === "object" && holder !== null && Object.hasOwn(holder, key)
    ? (holder as Record<string, unknown>)[key]
    : undefined;

const idField = (holder: unknown, key: string): string | null => {
  const value = field(holder, key);
  return typeof value === "string" || typeof value === "number" ? idOf(value) : null;
};

/**
 * The ids of a stored callback, also when it is invalid (then its event id is null, and whatever
 * id the body does carry is still named). For log lines about jobs that failed: a room event's id
 * needs the whole body validated, which the hot path does once and this repeats. Never throws: it
 * runs in event listeners, where an exception would take the process down.
 */
export function callbackSubject(kind: CallbackKind | undefined, body: unknown): CallbackSubject {
  try {
    return subjectOf(kind, body);
  } catch {
    return { eventId: null, messageId: null };
  }
}

function subjectOf(kind: CallbackKind | undefined, body: unknown): CallbackSubject {
  if (kind === "message") {
    const messageId = idField(field(body, "data"), "messageId");
    return { eventId: messageId === null ? null : messageEventId(messageId), messageId };
  }
  if (kind === "friend_accepted") {
    const normalized = normalizeCallback(kind, body);
    const data = field(body, "data");
    const wxid = idField(data, "wxid") ?? idField(data, "fromwxid") ?? idField(data, "contactSenderWxid");
    return { eventId: normalized.ok ? normalized.event.id : null, wxid };
  }
  const normalized = kind === "room_members" ? normalizeCallback(kind, body) : null;
  if (
    normalized?.ok &&
    (normalized.event.type === "room.members_left" || normalized.event.type === "room.members_joined")
  ) {
    return { eventId: normalized.event.id, roomId: normalized.event.data.room.id };
  }
  return { eventId: null, roomId: idField(body, "imRoomId") ?? idField(body, "chatId") };
}
