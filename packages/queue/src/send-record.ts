import type { RedisClient } from "./connections.ts";
import type { DeliveryAttempt } from "./event-record.ts";
import type { OutgoingMessage } from "./job-catalog.ts";

/**
 * The record of one send, beside its BullMQ job (which retention may remove first):
 *
 *   <prefix>:send:<id>            hash  `request` (JSON: chat, message), `botWxid`, `status`,
 *                                       `acceptedAt`, `platformResponse` (the last answer, JSON)
 *   <prefix>:send-attempts:<id>   list  SendAttempt (JSON): the shape of a delivery attempt, with
 *                                       `destination: "platform"`
 *   <prefix>:send-index:chat:<chatId>  zset  the chat's send ids by acceptance ms (the newest
 *                                       INDEX_SIZE), written at acceptance: the conversation page
 *
 * Status: queued (accepted, waiting for its turn, its pacing or a retry), sending (a platform call
 * is in flight), sent, failed (for good), held (the platform's quota is spent: 402).
 */
export type SendStatus = "queued" | "sending" | "sent" | "failed" | "held";

/** A platform call: a delivery attempt whose destination is `platform`. */
export type SendAttempt = DeliveryAttempt & { destination: "platform" };

/** What a send attempt's end means for the send (beside a delivery's outcomes: `held`). */
export type SendAttemptOutcome = "sent" | "retrying" | "failed" | "rate_limited" | "held";

export interface SendRequestRecord {
  chatId: string;
  botWxid: string;
  message: OutgoingMessage;
}

export interface SendRecord {
  id: string;
  status: SendStatus;
  acceptedAt: string | null;
  request: SendRequestRecord | null;
  attempts: SendAttempt[];
  /** The platform's last answer: its status and body (JSON when it was, else the text's first 1 KB). */
  platformResponse: unknown;
}

/** Records outlive the job's retention: a week, for `relay send status` and GET /v1/messages/{id}. */
export const SEND_RECORD_TTL_MS = 7 * 86_400_000;

export const sendRecordKey = (prefix: string, id: string) => `${prefix}:send:${id}`;
export const sendAttemptsKey = (prefix: string, id: string) => `${prefix}:send-attempts:${id}`;
export const sendChatIndexKey = (prefix: string, chatId: string) => `${prefix}:send-index:chat:${chatId}`;

export async function readSendRecord(redis: RedisClient, prefix: string, id: string): Promise<SendRecord | null> {
  const [hash, attempts] = await Promise.all([
    redis.hgetall(sendRecordKey(prefix, id)),
    redis.lrange(sendAttemptsKey(prefix, id), 0, -1),
  ]);
  if (!hash.status) return null;
  return {
    id,
    status: hash.status as SendStatus,
    acceptedAt: hash.acceptedAt ?? null,
    request: hash.request
      ? { ...(JSON.parse(hash.request) as Omit<SendRequestRecord, "botWxid">), botWxid: hash.botWxid ?? "" }
      : null,
    attempts: attempts.map((a) => JSON.parse(a) as SendAttempt),
    platformResponse: hash.platformResponse ? (JSON.parse(hash.platformResponse) as unknown) : null,
  };
}

/**
 * A chat's sends accepted in [fromMs, toMs], oldest first, at most `limit` (the newest of them):
 * ids whose record has expired are left out.
 */
export async function readChatSends(
  redis: RedisClient,
  prefix: string,
  chatId: string,
  options: { fromMs?: number; toMs?: number; limit?: number } = {},
): Promise<SendRecord[]> {
  const ids = await redis.zrevrangebyscore(
    sendChatIndexKey(prefix, chatId),
    options.toMs ?? "+inf",
    options.fromMs ?? "-inf",
    "LIMIT",
    0,
    options.limit ?? 200,
  );
  const records = await Promise.all(ids.map((id) => readSendRecord(redis, prefix, id)));
  return records.filter((r): r is SendRecord => r !== null).reverse();
}
