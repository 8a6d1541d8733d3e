import { z } from "zod";
import { booleanLike, idOf, integer, requiredId, stringOrNumber } from "./wire-values.ts";

// Values are checked here and converted by `normalizeRoomMembers`; unknown keys are accepted.
export const RoomMemberSchema = z.object({
  imContactId: requiredId,
  nickName: stringOrNumber,
  avatarUrl: stringOrNumber,
  roomAlias: stringOrNumber,
  isFriend: booleanLike,
  contactType: integer.nullish(),
  coworker: booleanLike,
  isSelf: booleanLike,
});

const memberList = z.array(RoomMemberSchema).nullish();

/**
 * The member-leave (离群) and member-join (入群) callbacks: a flat body, no `{ data }` wrapper.
 * Yuju spells the list `leftMember`, Juzibot `leftMembers`; the join body is unpublished and
 * assumed to mirror it with `joinedMember(s)`.
 */
export const RoomMemberCallbackSchema = z
  .object({
    chatId: stringOrNumber,
    botInfo: z.object({ imBotId: stringOrNumber, wecomUserId: stringOrNumber, nickName: stringOrNumber }).nullish(),
    imRoomId: stringOrNumber,
    topic: stringOrNumber,
    avatarUrl: stringOrNumber,
    ownerImContactId: stringOrNumber,
    leftMember: memberList,
    leftMembers: memberList,
    joinedMember: memberList,
    joinedMembers: memberList,
    groupId: stringOrNumber,
    timestamp: stringOrNumber,
  })
  .superRefine((body, ctx) => {
    if (idOf(body.imRoomId) === null && idOf(body.chatId) === null) {
      ctx.addIssue({ code: "custom", path: ["imRoomId"], message: "a room event needs imRoomId or chatId" });
    }
    const left = (body.leftMember?.length ?? 0) + (body.leftMembers?.length ?? 0);
    const joined = (body.joinedMember?.length ?? 0) + (body.joinedMembers?.length ?? 0);
    if (left > 0 && joined > 0) {
      ctx.addIssue({ code: "custom", message: "both left and joined members: cannot tell which event this is" });
    } else if (left === 0 && joined === 0) {
      ctx.addIssue({ code: "custom", message: "no members listed in leftMember(s) or joinedMember(s)" });
    }
  });

export type RoomMemberCallback = z.infer<typeof RoomMemberCallbackSchema>;
export type RoomMember = z.infer<typeof RoomMemberSchema>;
