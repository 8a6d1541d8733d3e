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
  origin?: string;
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
      origin: d.origin,
      text: d.text,
    };
  }
  const d = event.data;
  return { chatId: d.room.chatId, roomId: d.room.id, botId: d.bot.wxid };
}

const list = (values: readonly unknown[]) => `[${values.join(", ")}]`;
const shown = (value: unknown) => (value === null || value === undefined ? "none" : String(value));

/** The first condition of the filter the event fails, as `filter.kinds: image not in [text]`; null when it holds. */
export function failedCondition(filter: DestinationFilter, event: RelayEvent): string | null {
  const f = fieldsOf(event);
  const inList = <T>(key: string, wanted: readonly T[] | undefined, value: T | null | undefined) =>
    wanted === undefined || (value !== null && value !== undefined && wanted.includes(value))
      ? null
      : `filter.${key}: ${shown(value)} not in ${list(wanted)}`;
  const equal = (key: string, wanted: boolean | undefined, value: boolean | undefined) =>
    wanted === undefined || (value !== undefined && value === wanted)
      ? null
      : `filter.${key}: ${shown(value)}, not ${wanted}`;
  return (
    inList("kinds", filter.kinds as readonly string[] | undefined, f.kind) ??
    equal("isSelf", filter.isSelf, f.isSelf) ??
    equal("isGroup", filter.isGroup, f.isGroup) ??
    equal("mentionSelf", filter.mentionSelf, f.mentionSelf) ??
    inList("chatIds", filter.chatIds, f.chatId) ??
    inList("roomIds", filter.roomIds, f.roomId) ??
    inList("botIds", filter.botIds, f.botId) ??
    inList("sources", filter.sources, f.source) ??
    inList("origin", filter.origin as readonly string[] | undefined, f.origin) ??
    (filter.textMatches === undefined || (typeof f.text === "string" && filter.textMatches.test(f.text))
      ? null
      : `filter.textMatches: ${typeof f.text === "string" ? "text" : "no text"} does not match ${filter.textMatches}`)
  );
}

export function matchesFilter(filter: DestinationFilter, event: RelayEvent): boolean {
  return failedCondition(filter, event) === null;
}

/**
 * Why a destination does not want the event (`events: room.members_left not in [message.received]`,
 * `filter.kinds: image not in [text]`, `disabled`), or null when it does: what the event's record
 * shows for it.
 */
export function whyNotWanted(destination: Destination, event: RelayEvent): string | null {
  if (!destination.enabled) return "disabled";
  if (destination.events && !destination.events.includes(event.type)) {
    return `events: ${event.type} not in ${list(destination.events)}`;
  }
  return destination.filter === null ? null : failedCondition(destination.filter, event);
}

/** An enabled destination wants the event when its `events` list (if any) has the type and its filter (if any) holds. */
export function wantsEvent(destination: Destination, event: RelayEvent): boolean {
  return whyNotWanted(destination, event) === null;
}
