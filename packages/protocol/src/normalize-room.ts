import { roomEventId } from "./event-ids.ts";
import type { RoomMemberRef, RoomMembersJoinedEvent, RoomMembersLeftEvent } from "./events.ts";
import type { RoomMember, RoomMemberCallback } from "./room-callback.ts";
import { parsePlatformTimestamp } from "./timestamps.ts";
import { boolOf, idOf, intOf, rawTimestampOf, textOf } from "./wire-values.ts";

function memberRef(m: RoomMember): RoomMemberRef {
  return {
    id: String(m.imContactId),
    name: textOf(m.nickName),
    alias: textOf(m.roomAlias),
    avatarUrl: textOf(m.avatarUrl),
    isFriend: boolOf(m.isFriend),
    contactType: intOf(m.contactType),
    coworker: boolOf(m.coworker) ?? false,
    isSelf: boolOf(m.isSelf) ?? false,
  };
}

/** Both spellings may be present; a member listed in both counts once. */
function mergeMembers(a: RoomMember[] | null | undefined, b: RoomMember[] | null | undefined): RoomMemberRef[] {
  const byId = new Map<string, RoomMemberRef>();
  for (const m of [...(a ?? []), ...(b ?? [])]) {
    const ref = memberRef(m);
    if (!byId.has(ref.id)) byId.set(ref.id, ref);
  }
  return [...byId.values()];
}

export function normalizeRoomMembers(body: RoomMemberCallback): RoomMembersLeftEvent | RoomMembersJoinedEvent {
  const left = mergeMembers(body.leftMember, body.leftMembers);
  const direction = left.length > 0 ? "left" : "joined";
  const members = direction === "left" ? left : mergeMembers(body.joinedMember, body.joinedMembers);
  const chatId = idOf(body.chatId);
  // The schema guarantees one of the two ids.
  const roomId = (idOf(body.imRoomId) ?? chatId) as string;
  const timestamp = rawTimestampOf(body.timestamp);
  const data = {
    room: {
      id: roomId,
      topic: textOf(body.topic),
      chatId,
      ownerId: idOf(body.ownerImContactId),
      avatarUrl: textOf(body.avatarUrl),
    },
    bot: {
      id: null,
      wxid: idOf(body.botInfo?.imBotId),
      weixin: idOf(body.botInfo?.wecomUserId),
      name: textOf(body.botInfo?.nickName),
    },
    members,
    groupId: idOf(body.groupId),
    occurredAt: parsePlatformTimestamp(timestamp),
    rawTimestamp: timestamp,
  };
  const id = roomEventId(
    direction,
    roomId,
    members.map((m) => m.id),
    timestamp,
  );
  return direction === "left" ? { id, type: "room.members_left", data } : { id, type: "room.members_joined", data };
}
