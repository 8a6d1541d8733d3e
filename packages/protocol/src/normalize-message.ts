import { messageEventId } from "./event-ids.ts";
import type { MessageReceivedEvent } from "./events.ts";
import type { MessageData } from "./message-callback.ts";
import { messageKindOf } from "./message-kinds.ts";
import { messageOriginOf } from "./message-origin.ts";
import { parsePlatformTimestamp } from "./timestamps.ts";
import { boolOf, idOf, intOf, rawTimestampOf, textOf } from "./wire-values.ts";

function messageTextOf(payload: Record<string, unknown>): string | null {
  // Public models put text in `payload.text`; the seed's own sample uses `payload.content`.
  if (typeof payload.text === "string") return payload.text;
  if (typeof payload.content === "string") return payload.content;
  return null;
}

export function normalizeMessage(data: MessageData): MessageReceivedEvent {
  const messageType = Number(data.type);
  const kind = messageKindOf(messageType);
  const roomId = idOf(data.roomId);
  const avatar = textOf(data.avatar);
  const payload = data.payload ?? {};
  const timestamp = rawTimestampOf(data.timestamp);
  const messageId = String(data.messageId);
  const isSelf = boolOf(data.isSelf) ?? false;
  const source = intOf(data.source);
  return {
    id: messageEventId(messageId),
    type: "message.received",
    data: {
      messageId,
      chatId: idOf(data.chatId),
      kind,
      messageType,
      text: kind === "text" ? messageTextOf(payload) : null,
      isGroup: roomId !== null,
      room:
        roomId === null
          ? null
          : {
              id: roomId,
              topic: textOf(data.roomTopic),
              wecomChatId: idOf(data.roomWecomChatId),
              avatarUrl: avatar,
            },
      contact: {
        id: idOf(data.contactId),
        name: textOf(data.contactName),
        type: intOf(data.contactType),
        externalUserId: idOf(data.externalUserId),
        coworker: boolOf(data.coworker) ?? false,
        avatarUrl: roomId === null ? avatar : null,
      },
      bot: { id: idOf(data.botId), wxid: idOf(data.botWxid), weixin: idOf(data.botWeixin), name: null },
      isSelf,
      mentionSelf: boolOf(data.mentionSelf) ?? false,
      source,
      origin: messageOriginOf(source, isSelf),
      relaySendId: null,
      sendBy: idOf(data.sendBy),
      sentAt: parsePlatformTimestamp(timestamp),
      rawTimestamp: timestamp,
      payload,
    },
  };
}
