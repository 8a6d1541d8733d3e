import { z } from "zod";
import { looseString, optionalBoolean, optionalId, optionalInt, rawTimestamp, requiredId } from "./wire-values.ts";

export const RoomMemberSchema = z.looseObject({
  imContactId: requiredId,
  nickName: looseString,
  avatarUrl: looseString,
  roomAlias: looseString,
  isFriend: optionalBoolean,
  contactType: optionalInt,
  coworker: optionalBoolean,
  isSelf: optionalBoolean,
});

const memberList = z.array(RoomMemberSchema).nullish();

/**
 * The member-leave (离群) and member-join (入群) callbacks: a flat body, no `{ data }` wrapper.
 * Yuju spells the list `leftMember`, Juzibot `leftMembers`; the join body is unpublished and
 * assumed to mirror it with `joinedMember(s)`.
 */
export const RoomMemberCallbackSchema = z
  .looseObject({
    chatId: optionalId,
    botInfo: z
      .looseObject({ imBotId: optionalId, wecomUserId: optionalId, nickName: looseString })
      .nullish()
      .transform((v) => v ?? { imBotId: null, wecomUserId: null, nickName: null }),
    imRoomId: optionalId,
    topic: looseString,
    avatarUrl: looseString,
    ownerImContactId: optionalId,
    leftMember: memberList,
    leftMembers: memberList,
    joinedMember: memberList,
    joinedMembers: memberList,
    groupId: optionalId,
    timestamp: rawTimestamp,
  })
  .superRefine((body, ctx) => {
    if (body.imRoomId === null && body.chatId === null) {
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
