/**
 * The documented message `type` values and their names. This is the platform's own numbering
 * (Juzibot's), not wechaty's: there 13 is "recalled", here it is "video". Any other value is
 * `unknown`, never a reason to reject the message.
 */
export const MESSAGE_KINDS = {
  0: "unknown",
  1: "file",
  2: "voice",
  3: "contact_card",
  4: "chat_history",
  5: "emoticon",
  6: "image",
  7: "text",
  8: "location",
  9: "mini_program",
  10: "money",
  11: "recalled",
  12: "link",
  13: "video",
  14: "channels_video",
  15: "call_record",
  16: "group_solitaire",
  9999: "group_invitation",
  10000: "system",
  10001: "wecom_system",
} as const satisfies Record<number, string>;

export type MessageKind = (typeof MESSAGE_KINDS)[keyof typeof MESSAGE_KINDS];

export function messageKindOf(type: number): MessageKind {
  return (MESSAGE_KINDS as Record<number, MessageKind>)[type] ?? "unknown";
}
