import { z } from "zod";
import { booleanLike, integer, looseRecord, requiredId, stringOrNumber, withTrimmedKeys } from "./wire-values.ts";

/**
 * The message callback (对话消息回调, `/notice`): one message a request, wrapped in `{ data }`.
 * Keys the platform adds later are accepted, not rejected (the stored job keeps the body as sent;
 * the event carries the fields below and the whole `payload`). The values are checked here and
 * converted by `normalizeMessage`.
 */
export const MessageDataSchema = z.object({
  messageId: requiredId,
  chatId: stringOrNumber,
  avatar: stringOrNumber,
  roomTopic: stringOrNumber,
  roomId: stringOrNumber,
  contactName: stringOrNumber,
  contactId: stringOrNumber,
  payload: looseRecord.nullish(),
  type: integer,
  timestamp: stringOrNumber,
  botId: stringOrNumber,
  contactType: integer.nullish(),
  coworker: booleanLike,
  botWxid: stringOrNumber,
  botWeixin: stringOrNumber,
  source: integer.nullish(),
  sendBy: stringOrNumber,
  isSelf: booleanLike,
  mentionSelf: booleanLike,
  externalUserId: stringOrNumber,
  // Also arrives as "roomWecomChatId\t" (the seed's spelling): parseMessageCallback folds it in.
  roomWecomChatId: stringOrNumber,
});

export const MessageCallbackSchema = z.object({ data: MessageDataSchema });

/**
 * Validates a message callback, after folding keys with stray whitespace into their clean names
 * (the seed spells `"roomWecomChatId\t"`). The fold is not a `z.preprocess`: zod's preprocess step
 * kept every parsed job alive past the next young-generation GC, so the worker promoted its jobs
 * to the old generation and collected them there again (docs/performance.md).
 */
export function parseMessageCallback(body: unknown) {
  if (typeof body !== "object" || body === null || !("data" in body)) return MessageCallbackSchema.safeParse(body);
  const folded = withTrimmedKeys(body.data);
  return MessageCallbackSchema.safeParse(folded === body.data ? body : { ...body, data: folded });
}

export type MessageCallback = z.infer<typeof MessageCallbackSchema>;
export type MessageData = MessageCallback["data"];
