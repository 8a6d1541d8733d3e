import type { MessageReceivedEvent } from "./events.ts";
import type { MessageData } from "./message-callback.ts";
import { messageKindOf } from "./message-kinds.ts";
import { parsePlatformTimestamp } from "./timestamps.ts";

function textOf(payload: Record<string, unknown>): string | null {
  // Public models put text in `payload.text`; the seed's own sample uses `payload.content`.
  if (typeof payload.text === "string") return payload.text;
  if (typeof payload.content === "string") return payload.content;
  return null;
}

export function normalizeMessage(data: MessageData): MessageReceivedEvent {
  const kind = messageKindOf(data.type);
  const isGroup = data.roomId !== null;
  return {
    id: `msg_${data.messageId}`,
    type: "message.received",
    data: {
      messageId: data.messageId,
      chatId: data.chatId,
      kind,
      messageType: data.type,
      text: kind === "text" ? textOf(data.payload) : null,
      isGroup,
      room:
        data.roomId === null
          ? null
          : { id: data.roomId, topic: data.roomTopic, wecomChatId: data.roomWecomChatId, avatarUrl: data.avatar },
      contact: {
        id: data.contactId,
        name: data.contactName,
        type: data.contactType,
        externalUserId: data.externalUserId,
        coworker: data.coworker ?? false,
        avatarUrl: isGroup ? null : data.avatar,
      },
      bot: { id: data.botId, wxid: data.botWxid, weixin: data.botWeixin, name: null },
      isSelf: data.isSelf ?? false,
      mentionSelf: data.mentionSelf ?? false,
      source: data.source,
      sendBy: data.sendBy,
      sentAt: parsePlatformTimestamp(data.timestamp),
      rawTimestamp: data.timestamp,
      payload: data.payload,
    },
  };
}
