import type { CallbackEvent } from "./events.ts";
import { parseMessageCallback } from "./message-callback.ts";
import { normalizeMessage } from "./normalize-message.ts";
import { RoomMemberCallbackSchema } from "./room-callback.ts";
import { normalizeRoomMembers } from "./normalize-room.ts";
import { describeIssues } from "./wire-values.ts";
import { FRIEND_KEYS, FriendAcceptedCallbackSchema, MESSAGE_KEYS } from "./friend-callback.ts";
import { normalizeFriendAccepted } from "./normalize-friend.ts";

/**
 * What a callback body is, told by its shape alone: the seed's leave page is published under
 * `/room/joined`, so the path the platform calls cannot be trusted to say it.
 */
export type CallbackKind = "message" | "room_members" | "friend_accepted" | "unclassified";

const ROOM_MEMBER_KEYS = ["leftMember", "leftMembers", "joinedMember", "joinedMembers"];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Both messages and friend acceptances come as `{ data: {...} }`: a message's data has messageId,
 * chatId, type; a friend acceptance's has fromwxid, wxid, contactSenderWxid and none of those. Any
 * other `data` stays a message, to fail with a message's reasons, as before.
 */
function isFriendAccepted(data: unknown): boolean {
  if (!isObject(data)) return false;
  return !MESSAGE_KEYS.some((key) => Object.hasOwn(data, key)) && FRIEND_KEYS.some((key) => Object.hasOwn(data, key));
}

export function classifyCallback(body: unknown): CallbackKind {
  if (!isObject(body)) return "unclassified";
  if (Object.hasOwn(body, "data")) return isFriendAccepted(body.data) ? "friend_accepted" : "message";
  for (const key of ROOM_MEMBER_KEYS) if (Object.hasOwn(body, key)) return "room_members";
  return "unclassified";
}

const isTokenKey = (key: string) => key === "token" || key.trim() === "token";

/**
 * The tenant's `token`: inside `data` for messages, at the top for room events. The friend body
 * documents none: it is looked for in both places, `data` first.
 */
export function callbackToken(body: unknown): string | null {
  if (!isObject(body)) return null;
  for (const holder of isObject(body.data) ? [body.data, body] : [body]) {
    if (typeof holder.token === "string") return holder.token;
  }
  return null;
}

/**
 * Removes every `token` from the body, in place, before it is stored anywhere: it is the tenant's
 * API credential and must never reach Redis, logs or the dashboard.
 */
export function removeCallbackToken(body: unknown): void {
  if (!isObject(body)) return;
  for (const holder of isObject(body.data) ? [body, body.data] : [body]) {
    for (const key of Object.keys(holder)) if (isTokenKey(key)) delete holder[key];
  }
}

export type NormalizeOutcome = { ok: true; event: CallbackEvent } | { ok: false; reason: string };

/** Validates a stored callback and turns it into its typed event, or says in words why it cannot. */
export function normalizeCallback(kind: CallbackKind, body: unknown): NormalizeOutcome {
  switch (kind) {
    case "message": {
      const parsed = parseMessageCallback(body);
      return parsed.success
        ? { ok: true, event: normalizeMessage(parsed.data.data) }
        : { ok: false, reason: `invalid message callback: ${describeIssues(parsed.error)}` };
    }
    case "room_members": {
      const parsed = RoomMemberCallbackSchema.safeParse(body);
      return parsed.success
        ? { ok: true, event: normalizeRoomMembers(parsed.data) }
        : { ok: false, reason: `invalid room member callback: ${describeIssues(parsed.error)}` };
    }
    case "friend_accepted": {
      const parsed = FriendAcceptedCallbackSchema.safeParse(body);
      return parsed.success
        ? { ok: true, event: normalizeFriendAccepted(parsed.data, (body as { data: Record<string, unknown> }).data) }
        : { ok: false, reason: `invalid friend-accepted callback: ${describeIssues(parsed.error)}` };
    }
    case "unclassified": {
      // Cut: a body of a thousand 1 KB keys must still give a readable reason.
      const keys = isObject(body)
        ? Object.keys(body)
            .slice(0, 20)
            .map((key) => (key.length > 40 ? `${key.slice(0, 40)}…` : key))
            .join(", ") || "none"
        : Array.isArray(body)
          ? "an array"
          : typeof body;
      return {
        ok: false,
        reason: `unknown callback kind: neither a message ({"data": {...}}), a friend acceptance ({"data": {"fromwxid", "wxid", ...}}) nor a room member change (leftMember(s)/joinedMember(s)); top-level keys: ${keys}`,
      };
    }
  }
}
