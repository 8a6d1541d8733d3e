import { z } from "zod";
import { stringOrNumber } from "./wire-values.ts";

/**
 * The friend-accepted callback (好友通过事件回调): `{ code, data: { fromwxid, wxid, phoneNum,
 * roomWxid, contactSenderWxid, … } }`. The published description is cut short, so every other key
 * is accepted and kept: the schema only checks the known ones, and the event carries the whole
 * `data` as sent (`fields`), checked, never rebuilt.
 */
export const FriendAcceptedDataSchema = z
  .object({
    fromwxid: stringOrNumber,
    wxid: stringOrNumber,
    phoneNum: stringOrNumber,
    roomWxid: stringOrNumber,
    contactSenderWxid: stringOrNumber,
    timestamp: stringOrNumber,
  })
  .superRefine((data, ctx) => {
    const ids = [data.fromwxid, data.wxid, data.contactSenderWxid].filter((v) => v !== null && v !== undefined);
    if (!ids.some((v) => String(v).trim() !== "")) {
      ctx.addIssue({ code: "custom", message: "a friend event needs fromwxid, wxid or contactSenderWxid" });
    }
  });

export const FriendAcceptedCallbackSchema = z.object({
  code: stringOrNumber,
  timestamp: stringOrNumber,
  data: FriendAcceptedDataSchema,
});

export type FriendAcceptedCallback = z.infer<typeof FriendAcceptedCallbackSchema>;

/** Keys of `data` that say a body is a friend acceptance, not a message (which has messageId, chatId, type). */
export const FRIEND_KEYS = ["fromwxid", "contactSenderWxid", "wxid"] as const;
export const MESSAGE_KEYS = ["messageId", "chatId", "type", "payload"] as const;
