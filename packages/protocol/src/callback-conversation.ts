import type { CallbackKind } from "./callback.ts";
import { idOf } from "./wire-values.ts";

const field = (holder: unknown, key: string): unknown =>
  typeof holder === "object" && holder !== null && Object.hasOwn(holder, key)
    ? (holder as Record<string, unknown>)[key]
    : undefined;

const idField = (holder: unknown, key: string): string | null => {
  const value = field(holder, key);
  return typeof value === "string" || typeof value === "number" ? idOf(value) : null;
};

/**
 * The conversation a stored callback belongs to, read from its body before any validation (the
 * ingress picks the callback's partition with it): the chat for a message (its room when it names
 * no chat), the room for a member change. The same fields the normalized event's conversation
 * comes from, so a conversation's callbacks, ordering line and bursts share one partition. Null
 * for a body that names none: it still goes somewhere (partition 0). Never throws.
 */
export function callbackConversation(kind: CallbackKind, body: unknown): string | null {
  if (kind === "message") {
    const data = field(body, "data");
    return idField(data, "chatId") ?? idField(data, "roomId");
  }
  if (kind === "room_members") return idField(body, "imRoomId") ?? idField(body, "chatId");
  return null;
}
