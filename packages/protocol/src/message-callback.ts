import { z } from "zod";
import {
  looseRecord,
  looseString,
  optionalBoolean,
  optionalId,
  optionalInt,
  looseInt,
  rawTimestamp,
  requiredId,
  withTrimmedKeys,
} from "./wire-values.ts";

/**
 * The message callback (对话消息回调, `/notice`): one message a request, wrapped in `{ data }`.
 * Loose objects: keys the platform adds later are kept, not rejected.
 */
export const MessageDataSchema = z.preprocess(
  withTrimmedKeys,
  z.looseObject({
    messageId: requiredId,
    chatId: optionalId,
    avatar: looseString,
    roomTopic: looseString,
    roomId: optionalId,
    contactName: looseString,
    contactId: optionalId,
    payload: looseRecord.nullish().transform((v) => v ?? {}),
    type: looseInt,
    timestamp: rawTimestamp,
    botId: optionalId,
    contactType: optionalInt,
    coworker: optionalBoolean,
    botWxid: optionalId,
    botWeixin: optionalId,
    source: optionalInt,
    sendBy: optionalId,
    isSelf: optionalBoolean,
    mentionSelf: optionalBoolean,
    externalUserId: optionalId,
    // Also arrives as "roomWecomChatId\t" (the seed's spelling): withTrimmedKeys folds it in.
    roomWecomChatId: optionalId,
  }),
);

export const MessageCallbackSchema = z.looseObject({ data: MessageDataSchema });

export type MessageCallback = z.infer<typeof MessageCallbackSchema>;
export type MessageData = MessageCallback["data"];
