import type { RelayEvent } from "@yuju-relay/protocol";

/** What names an event in a log line besides its id: its messageId, its room id, its chat, or a friend's wxid. */
export function eventSubject(
  event: RelayEvent,
): { messageId: string } | { roomId: string } | { chatId: string } | { wxid: string | null } {
  switch (event.type) {
    case "message.received":
      return { messageId: event.data.messageId };
    case "conversation.burst":
      return { chatId: event.data.chatId };
    case "contact.friend_accepted":
      return { wxid: event.data.wxid ?? event.data.fromWxid };
    default:
      return { roomId: event.data.room.id };
  }
}
