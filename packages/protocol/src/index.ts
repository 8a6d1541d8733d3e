export * from "./callback.ts";
export { parseCallbackJson, MAX_NESTING, type ParsedCallbackJson } from "./callback-json.ts";
export { callbackSubject, type CallbackSubject } from "./callback-subject.ts";
export { callbackLabel } from "./callback-label.ts";
export { burstEventId, friendEventId, messageEventId, roomEventId } from "./event-ids.ts";
export * from "./events.ts";
export { MESSAGE_KINDS, messageKindOf, type MessageKind } from "./message-kinds.ts";
export {
  MessageCallbackSchema,
  MessageDataSchema,
  parseMessageCallback,
  type MessageCallback,
  type MessageData,
} from "./message-callback.ts";
export { RoomMemberCallbackSchema, type RoomMemberCallback } from "./room-callback.ts";
export { API_SOURCE, MESSAGE_ORIGINS, messageOriginOf, type MessageOrigin } from "./message-origin.ts";
export { normalizeMessage } from "./normalize-message.ts";
export { normalizeRoomMembers } from "./normalize-room.ts";
export { FriendAcceptedCallbackSchema, type FriendAcceptedCallback } from "./friend-callback.ts";
export { normalizeFriendAccepted } from "./normalize-friend.ts";
export { parsePlatformTimestamp } from "./timestamps.ts";
export { toEnvelope, type WebhookEnvelope } from "./envelope.ts";
export { callbackConversation } from "./callback-conversation.ts";
export {
  ED25519_SECRET_FORMAT,
  ed25519PrivateKey,
  ed25519PublicKey,
  HMAC_SECRET,
  HMAC_SECRET_FORMAT,
  SIGNING_SCHEMES,
  signingSecretProblem,
  type SigningScheme,
} from "./webhook-keys.ts";
