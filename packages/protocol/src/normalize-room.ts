import { createHash } from "node:crypto";
import type { RoomMemberRef, RoomMembersJoinedEvent, RoomMembersLeftEvent } from "./events.ts";
import type { RoomMember, RoomMemberCallback } from "./room-callback.ts";
import { parsePlatformTimestamp } from "./timestamps.ts";

function memberRef(m: RoomMember): RoomMemberRef {
  return {
    id: m.imContactId,
    name: m.nickName,
    alias: m.roomAlias,
    avatarUrl: m.avatarUrl,
    isFriend: m.isFriend,
    contactType: m.contactType,
    coworker: m.coworker ?? false,
    isSelf: m.isSelf ?? false,
  };
}

/** Both spellings may be present; a member listed in both counts once. */
function mergeMembers(a: RoomMember[] | null | undefined, b: RoomMember[] | null | undefined): RoomMemberRef[] {
  const byId = new Map<string, RoomMemberRef>();
  for (const m of [...(a ?? []), ...(b ?? [])]) if (!byId.has(m.imContactId)) byId.set(m.imContactId, memberRef(m));
  return [...byId.values()];
}

/**
 * Room events carry no id of their own. The platform's redelivery of the same change repeats room,
 * members and timestamp, so those (with the direction) identify it.
 */
function roomEventId(direction: "left" | "joined", roomId: string, members: RoomMemberRef[], timestamp: unknown) {
  const ids = members.map((m) => m.id).sort();
  const digest = createHash("sha256")
    .update(JSON.stringify([direction, roomId, ids, timestamp ?? null]))
    .digest("base64url")
    .slice(0, 32);
  return `room_${direction}_${digest}`;
}

export function normalizeRoomMembers(body: RoomMemberCallback): RoomMembersLeftEvent | RoomMembersJoinedEvent {
  const left = mergeMembers(body.leftMember, body.leftMembers);
  const direction = left.length > 0 ? "left" : "joined";
  const members = direction === "left" ? left : mergeMembers(body.joinedMember, body.joinedMembers);
  // The schema guarantees one of the two ids.
  const roomId = (body.imRoomId ?? body.chatId) as string;
  const data = {
    room: {
      id: roomId,
      topic: body.topic,
      chatId: body.chatId,
      ownerId: body.ownerImContactId,
      avatarUrl: body.avatarUrl,
    },
    bot: { id: null, wxid: body.botInfo.imBotId, weixin: body.botInfo.wecomUserId, name: body.botInfo.nickName },
    members,
    groupId: body.groupId,
    occurredAt: parsePlatformTimestamp(body.timestamp),
    rawTimestamp: body.timestamp,
  };
  const id = roomEventId(direction, roomId, members, body.timestamp);
  return direction === "left" ? { id, type: "room.members_left", data } : { id, type: "room.members_joined", data };
}
