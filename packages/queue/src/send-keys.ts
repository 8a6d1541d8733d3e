import { createHash } from "node:crypto";

/**
 * Keys of the send path that more than one module reads. All under the queue prefix: with a
 * hash-tagged prefix, every script's keys stay in one Redis Cluster slot.
 */

/** The hosted account last seen in a chat's callbacks (botWxid): who sends when a request names none. */
export const chatAccountKey = (prefix: string, chatId: string) => `${prefix}:chat-account:${chatId}`;

/** A chat's sends not yet finished, scored by acceptance order: only the head may be sent. */
export const sendLineKey = (prefix: string, chatId: string) => `${prefix}:send-line:${chatId}`;

/** A text this relay sent to a chat in the last 10 minutes → the send's id: how its callback is recognised. */
export const sentEchoKey = (prefix: string, chatId: string, text: string) =>
  `${prefix}:sent:${chatId}:${createHash("sha256").update(text).digest("hex")}`;

export const SENT_ECHO_WINDOW_MS = 600_000;

/** The whole key is held back (429) until this key expires. */
export const sendHoldKey = (prefix: string) => `${prefix}:send-hold`;

/** Present while the platform's quota is spent (402): every send is held. */
export const sendQuotaKey = (prefix: string) => `${prefix}:send-quota`;

/** Taken by the one held send allowed to probe the platform, for SEND_PROBE_INTERVAL. */
export const sendProbeKey = (prefix: string) => `${prefix}:send-probe`;

/** The sliding window of platform calls: a sorted set of call times. */
export const sendWindowKey = (prefix: string) => `${prefix}:send-window`;

/** A hosted account's next allowed send time (ms). */
export const sendAccountKey = (prefix: string, botWxid: string) => `${prefix}:send-account:${botWxid}`;

/** Held by an account's call in flight: one call of an account at a time. */
export const sendAccountBusyKey = (prefix: string, botWxid: string) => `${prefix}:send-account-busy:${botWxid}`;
