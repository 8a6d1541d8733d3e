import type { RelayEvent } from "@yuju-relay/protocol";

/**
 * The conversation an event belongs to, for ordered destinations: the chat for a message, the
 * room for a member change. A message without a chatId (the platform always sends one; a body
 * without it is tolerated) has no conversation and is delivered unordered, as is a friend
 * acceptance. A burst's conversation is its chat.
 */
export function conversationOf(event: RelayEvent): string | null {
  switch (event.type) {
    case "message.received":
      return event.data.chatId ?? event.data.room?.id ?? null;
    case "conversation.burst":
      return event.data.chatId;
    case "contact.friend_accepted":
      return null;
    default:
      return event.data.room.id;
  }
}

/**
 * The acceptance order of a delivery: its callback job's id, Redis's own auto-increment. Not a
 * whole number (a job added by other means): no place in line, delivered unordered.
 */
export function acceptanceSeq(callbackJobId: string): number | null {
  if (!/^\d{1,15}$/.test(callbackJobId)) return null;
  return Number(callbackJobId);
}
