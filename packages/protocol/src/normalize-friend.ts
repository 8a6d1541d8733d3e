import { friendEventId } from "./event-ids.ts";
import type { ContactFriendAcceptedEvent } from "./events.ts";
import type { FriendAcceptedCallback } from "./friend-callback.ts";
import { parsePlatformTimestamp } from "./timestamps.ts";
import { idOf, rawTimestampOf, textOf } from "./wire-values.ts";

/**
 * The body's `data` as the platform sent it, but never a token (the ingress removes it before
 * storing; this holds for a body that reached us any other way). Defined, not assigned: a
 * `__proto__` key stays data.
 */
function withoutToken(data: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(data)) {
    if (key.trim() === "token") continue;
    Object.defineProperty(copy, key, { value: data[key], enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/**
 * `fields` carries every key of `data`: the published description is truncated, and a receiver
 * must see the keys it did not list.
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
      fields: withoutToken(fields),
    },
  };
}
