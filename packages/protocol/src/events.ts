import type { MessageKind } from "./message-kinds.ts";
import type { MessageOrigin } from "./message-origin.ts";

/** The hosted WeCom account an event concerns. Message and room callbacks name it differently. */
export interface BotRef {
  /** The platform's hosted-account id (`botId`); room callbacks do not carry it. */
  id: string | null;
  /** System id (`botWxid` = `imBotId`). */
  wxid: string | null;
  /** WeCom userId (`botWeixin` = `wecomUserId`). */
  weixin: string | null;
  name: string | null;
}

export interface MessageReceived {
  messageId: string;
  chatId: string | null;
  kind: MessageKind;
  /** The platform's numeric `type`, kept so that `unknown` kinds stay tellable apart. */
  messageType: number;
  /** The message text for text messages (`payload.text`, else `payload.content`); otherwise null. */
  text: string | null;
  isGroup: boolean;
  room: { id: string; topic: string | null; wecomChatId: string | null; avatarUrl: string | null } | null;
  contact: {
    id: string | null;
    name: string | null;
    type: number | null;
    externalUserId: string | null;
    coworker: boolean;
    /** The customer's avatar; in group messages the platform sends the group's avatar instead (see `room`). */
    avatarUrl: string | null;
  };
  bot: BotRef;
  /** Sent by the hosted account itself (also when sent through the API): auto-repliers must skip these. */
  isSelf: boolean;
  mentionSelf: boolean;
  source: number | null;
  /** Where it came from (message-origin.ts), for loop guards: `filter: { origin: [contact] }`. */
  origin: MessageOrigin;
  /**
   * For `origin: api`: the id of this relay's send that it echoes (same chat and text, sent within
   * the last 10 minutes), set by the worker; null when it matches none (another API client's).
   */
  relaySendId: string | null;
  /** The console user who sent it, for manual sends from the console. */
  sendBy: string | null;
  sentAt: string | null;
  /** The timestamp as the platform sent it, kept when it is not a time. */
  rawTimestamp: string | number | null;
  payload: Record<string, unknown>;
}

export interface RoomMemberRef {
  id: string;
  name: string | null;
  alias: string | null;
  avatarUrl: string | null;
  isFriend: boolean | null;
  contactType: number | null;
  coworker: boolean;
  /** The hosted account itself (it left or was removed, or joined). */
  isSelf: boolean;
}

export interface RoomMembersChanged {
  room: { id: string; topic: string | null; chatId: string | null; ownerId: string | null; avatarUrl: string | null };
  bot: BotRef;
  members: RoomMemberRef[];
  /** The platform team ("小组") the group belongs to. */
  groupId: string | null;
  occurredAt: string | null;
  rawTimestamp: string | number | null;
}

interface EventOf<Type extends string, Data> {
  /** Stable across platform redeliveries and our retries: the de-duplication key and the `webhook-id`. */
  id: string;
  type: Type;
  data: Data;
}

export type MessageReceivedEvent = EventOf<"message.received", MessageReceived>;
export type RoomMembersLeftEvent = EventOf<"room.members_left", RoomMembersChanged>;
export type RoomMembersJoinedEvent = EventOf<"room.members_joined", RoomMembersChanged>;

export type RelayEvent = MessageReceivedEvent | RoomMembersLeftEvent | RoomMembersJoinedEvent;
export type RelayEventType = RelayEvent["type"];
export type RelayEventOf<T extends RelayEventType> = Extract<RelayEvent, { type: T }>;

export const RELAY_EVENT_TYPES = [
  "message.received",
  "room.members_left",
  "room.members_joined",
] as const satisfies readonly RelayEventType[];
