/** Callback bodies as the platform sends them, for tests that need many different events. */

export interface MessageShape {
  text?: string;
  /** The platform's numeric type: 7 text, 6 image … */
  type?: number;
  isSelf?: boolean;
  mentionSelf?: boolean;
  /** Non-empty: a group message. */
  roomId?: string;
  chatId?: string;
  botWxid?: string;
  source?: number;
  token?: string;
}

export function messageCallback(messageId: string, shape: MessageShape = {}): string {
  const { text = "你好", type = 7, isSelf = false, mentionSelf = false, roomId = "", chatId = "chat-1" } = shape;
  return JSON.stringify({
    data: {
      messageId,
      chatId,
      type,
      payload: type === 7 ? { text } : { url: "https://example.com/x.jpg" },
      isSelf,
      mentionSelf,
      roomId,
      botWxid: shape.botWxid ?? "bot-1",
      source: shape.source ?? 0,
      contactName: "赵建国",
      timestamp: String(Date.now()),
      token: shape.token ?? "string",
    },
  });
}

export function memberLeftCallback(roomId: string, memberId: string, token = "string"): string {
  return JSON.stringify({
    chatId: `chat-of-${roomId}`,
    imRoomId: roomId,
    topic: "客户群",
    botInfo: { imBotId: "bot-1", wecomUserId: "w-1", nickName: "客服" },
    leftMember: [{ imContactId: memberId, nickName: "离开的人" }],
    timestamp: String(Date.now()),
    token,
  });
}
