import { createHash } from "node:crypto";

// Visible ASCII, inner spaces allowed, at most 256 characters: a value every HTTP stack sends and
// reads back unchanged (no trimming, no encoding), in a header no server refuses for its size.
const PLAIN_ID = /^[\x21-\x7e](?:[\x20-\x7e]{0,254}[\x21-\x7e])?$/;

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("base64url");

/**
 * The event id of a message, which is also its `webhook-id` and its de-duplication key. A
 * messageId that is a plain header value keeps exactly `msg_<messageId>`. Any other (CR/LF, NUL,
 * Chinese, emoji, longer than 256) becomes `msg_~` + base64url(sha256(UTF-8 of the messageId)):
 * deterministic, so a redelivery gets the same id, and valid in any header. `~` never occurs in
 * base64url, so the derived form is told apart at a glance.
 */
export function messageEventId(messageId: string): string {
  return PLAIN_ID.test(messageId) ? `msg_${messageId}` : `msg_~${sha256(messageId)}`;
}

/**
 * Room events carry no id of their own. The platform's redelivery of the same change repeats room,
 * members and timestamp, so those (with the direction) identify it. Always header-safe.
 */
export function roomEventId(
  direction: "left" | "joined",
  roomId: string,
  memberIds: string[],
  timestamp: string | number | null,
): string {
  const digest = sha256(JSON.stringify([direction, roomId, [...memberIds].sort(), timestamp])).slice(0, 32);
  return `room_${direction}_${digest}`;
}

/**
 * A friend acceptance carries no id of its own either: its ids and timestamp identify it, as for
 * room events. Without a timestamp, the same two people accepting again within DEDUP_WINDOW is
 * taken for a redelivery.
 */
export function friendEventId(ids: Array<string | null>, timestamp: string | number | null): string {
  return `friend_${sha256(JSON.stringify(["friend", ids, timestamp])).slice(0, 32)}`;
}

/**
 * A burst's id: from its destination and its first and last message's event ids, so a close run
 * again (a worker died) makes the same id, the `webhook-id` of every attempt. The destination is in
 * it because two destinations with different filters make different bursts of the same messages.
 * Header-safe.
 */
export function burstEventId(destination: string, firstEventId: string, lastEventId: string): string {
  return `burst_${sha256(JSON.stringify([destination, firstEventId, lastEventId])).slice(0, 32)}`;
}
