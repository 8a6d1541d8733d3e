import { readChatSends, type SendAttempt, type SendRecord, type SendStatus } from "@yuju-relay/queue";
import { decodeCursor, type EventPage } from "./event-search.ts";
import type { EventSources } from "./event-sources.ts";

/** One send as a conversation shows it: never the platform's key (the record holds none). */
export interface SendListItem {
  id: string;
  status: SendStatus;
  acceptedAt: string | null;
  /** The hosted account that sends. */
  botWxid: string | null;
  kind: "text" | "image" | "file" | null;
  /** A text's first characters, or an image's or file's name. */
  excerpt: string | null;
  attempts: SendAttempt[];
}

const EXCERPT_CHARS = 140;

function excerptOf(record: SendRecord): string | null {
  const message = record.request?.message;
  if (!message) return null;
  if (message.type === "text") return [...message.text].slice(0, EXCERPT_CHARS).join("");
  if (message.type === "file") return message.name ?? message.url.split("/").pop() ?? null;
  return message.url.split("/").pop() ?? null;
}

export function sendItemOf(record: SendRecord): SendListItem {
  return {
    id: record.id,
    status: record.status,
    acceptedAt: record.acceptedAt,
    botWxid: record.request?.botWxid || null,
    kind: record.request?.message.type ?? null,
    excerpt: excerptOf(record),
    attempts: record.attempts,
  };
}

/**
 * The chat's sends that belong between a page of its events: accepted after the page's cursor and,
 * unless it is the last page, up to its last event. So that every send shows on exactly one page,
 * in time among the events.
 */
export async function conversationSends(
  sources: EventSources,
  chatId: string,
  cursor: string | undefined,
  page: EventPage,
): Promise<SendListItem[]> {
  const after = decodeCursor(cursor);
  const last = page.events.at(-1);
  const records = await readChatSends(sources.redis, sources.prefix, chatId, {
    fromMs: after ? after.score + 1 : undefined,
    toMs: page.nextCursor && last ? Date.parse(last.receivedAt) : undefined,
  });
  return records.map(sendItemOf);
}
