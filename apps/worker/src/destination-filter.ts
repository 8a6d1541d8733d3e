import type { Destination, DestinationFilter } from "@yuju-relay/config";
import type { RelayEvent } from "@yuju-relay/protocol";

/**
 * The fields a filter reads, for each event type. A field an event type lacks is undefined, and
 * a condition on it does not match: room events have no `kind`, so `kinds: [text]` never takes them.
 */
interface FilterFields {
  kind?: string;
  isSelf?: boolean;
  isGroup?: boolean;
  mentionSelf?: boolean;
  chatId?: string | null;
  roomId?: string | null;
  botId?: string | null;
  source?: number | null;
  text?: string | null;
}

function fieldsOf(event: RelayEvent): FilterFields {
  if (event.type === "message.received") {
    const d = event.data;
    return {
      kind: d.kind,
      isSelf: d.isSelf,
      isGroup: d.isGroup,
      mentionSelf: d.mentionSelf,
      chatId: d.chatId,
      roomId: d.room?.id ?? null,
      botId: d.bot.wxid,
      source: d.source,
      text: d.text,
    };
  }
  if (event.type === "contact.friend_accepted") return { roomId: event.data.roomWxid };
  // A burst is made from events a filter already took: it is never filtered again.
  if (event.type === "conversation.burst") return { chatId: event.data.chatId, roomId: event.data.roomId };
  const d = event.data;
  return { chatId: d.room.chatId, roomId: d.room.id, botId: d.bot.wxid };
}

const anyOf = <T>(list: readonly T[] | undefined, value: T | null | undefined) =>
  list === undefined || (value !== null && value !== undefined && list.includes(value));
const equals = (wanted: boolean | undefined, value: boolean | undefined) =>
  wanted === undefined || (value !== undefined && value === wanted);

export function matchesFilter(filter: DestinationFilter, event: RelayEvent): boolean {
  const f = fieldsOf(event);
  return (
    anyOf(filter.kinds as readonly string[] | undefined, f.kind) &&
    equals(filter.isSelf, f.isSelf) &&
    equals(filter.isGroup, f.isGroup) &&
    equals(filter.mentionSelf, f.mentionSelf) &&
    anyOf(filter.chatIds, f.chatId) &&
    anyOf(filter.roomIds, f.roomId) &&
    anyOf(filter.botIds, f.botId) &&
    anyOf(filter.sources, f.source) &&
    (filter.textMatches === undefined || (typeof f.text === "string" && filter.textMatches.test(f.text)))
  );
}

/** An enabled destination wants the event when its `events` list (if any) has the type and its filter (if any) holds. */
export function wantsEvent(destination: Destination, event: RelayEvent): boolean {
  if (!destination.enabled) return false;
  if (destination.events && !destination.events.includes(event.type)) return false;
  return destination.filter === null || matchesFilter(destination.filter, event);
}
