import { friendEventId } from "./event-ids.ts";
import type { ContactFriendAcceptedEvent } from "./events.ts";
import type { FriendAcceptedCallback } from "./friend-callback.ts";
import { parsePlatformTimestamp } from "./timestamps.ts";
import { idOf, rawTimestampOf, textOf } from "./wire-values.ts";

/**
 * `fields` is the body's `data` as the platform sent it (the token already removed by the ingress):
 * the published description is truncated, and a receiver must see every key it did not list.
 */
export function normalizeFriendAccepted(
  body: FriendAcceptedCallback,
  fields: Record<string, unknown>,
): ContactFriendAcceptedEvent {
  const d = body.data;
  const timestamp = rawTimestampOf(d.timestamp ?? body.timestamp);
  const fromWxid = idOf(d.fromwxid);
  const wxid = idOf(d.wxid);
  const contactSenderWxid = idOf(d.contactSenderWxid);
  const roomWxid = idOf(d.roomWxid);
  return {
    id: friendEventId([fromWxid, wxid, contactSenderWxid, roomWxid], timestamp),
    type: "contact.friend_accepted",
    data: {
      code: textOf(body.code),
      fromWxid,
      wxid,
      phoneNum: idOf(d.phoneNum),
      roomWxid,
      contactSenderWxid,
      occurredAt: parsePlatformTimestamp(timestamp),
      rawTimestamp: timestamp,
      fields,
    },
  };
}
