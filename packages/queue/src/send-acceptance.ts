import { createHash, randomUUID } from "node:crypto";
import type { Queue } from "bullmq";
import type { RedisClient } from "./connections.ts";
import { defineScripts } from "./lua-commands.ts";
import { sendJobName, sendJobOptions, type OutgoingMessage, type SendJobData } from "./job-catalog.ts";
import { INDEX_SIZE } from "./event-record.ts";
import { SEND_RECORD_TTL_MS, sendChatIndexKey, sendRecordKey, type SendStatus } from "./send-record.ts";
import { chatAccountKey, sendLineKey } from "./send-keys.ts";

/**
 * Accepting a send: one script call does what must be atomic, then the job is added.
 *
 *   idempotency  `<prefix>:send-idem:<sha256(key)>` → `<sha256(body)> <send id>` for 24 h (SET only
 *                if absent, inside the script): five concurrent posts of one key make one send; the
 *                same key with another body is a conflict.
 *   account      without botWxid, the account last seen in the chat's callbacks (send-echoes.ts).
 *   order        the send joins its chat's line (`<prefix>:send-line:<chatId>`, scored by a counter
 *                taken here): the acceptance order, which the worker keeps (send-pacing.ts).
 *   record       status `queued`.
 *   index        the chat's sends (`<prefix>:send-index:chat:<chatId>`, scored by acceptance ms,
 *                the newest INDEX_SIZE, expiring with the records): the inspector's conversation page.
 */
const ACCEPT = `
local idemKey, accountKey, seqKey, lineKey, recordKey, indexKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local hasIdem, bodyHash, id, bot, request, acceptedAt, idemTtl, recordTtl, acceptedMs, indexSize =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])
if hasIdem == "1" then
  local existing = redis.call("GET", idemKey)
  if existing then
    local space = string.find(existing, " ", 1, true)
    if string.sub(existing, 1, space - 1) ~= bodyHash then return {"conflict", string.sub(existing, space + 1)} end
    return {"duplicate", string.sub(existing, space + 1)}
  end
end
if bot == "" then
  bot = redis.call("GET", accountKey)
  if not bot then return {"no_account", ""} end
end
if hasIdem == "1" then redis.call("SET", idemKey, bodyHash .. " " .. id, "PX", idemTtl) end
local seq = redis.call("INCR", seqKey)
redis.call("ZADD", lineKey, seq, id)
redis.call("PEXPIRE", lineKey, recordTtl)
redis.call("HSET", recordKey, "status", "queued", "acceptedAt", acceptedAt, "request", request, "botWxid", bot)
redis.call("PEXPIRE", recordKey, recordTtl)
redis.call("ZADD", indexKey, acceptedMs, id)
redis.call("ZREMRANGEBYRANK", indexKey, 0, -(indexSize + 1))
redis.call("PEXPIRE", indexKey, recordTtl)
return {"accepted", bot}
`;

const ACCEPT_COMMAND = "yujuAcceptSend";
interface AcceptCommands {
  [ACCEPT_COMMAND](numKeys: number, ...keysThenArgs: Array<string | number>): Promise<[string, string]>;
}

export const IDEMPOTENCY_WINDOW_MS = 86_400_000;

export interface SendRequest {
  chatId: string;
  message: OutgoingMessage;
  botWxid?: string | undefined;
  idempotencyKey?: string | undefined;
}

export type SendAcceptance =
  | { outcome: "accepted"; id: string; botWxid: string }
  /** The idempotency key's first send: nothing new was sent. */
  | { outcome: "duplicate"; id: string; status: SendStatus | null }
  /** The idempotency key was used with another body. */
  | { outcome: "conflict"; id: string }
  /** No botWxid, and no callback of that chat seen yet. */
  | { outcome: "no_account" };

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The body's identity, for the idempotency check: what would be sent, and by whom. */
function bodyHashOf(request: SendRequest): string {
  return sha256(JSON.stringify([request.chatId, request.botWxid ?? null, request.message]));
}

export const idempotencyKeyOf = (prefix: string, key: string) => `${prefix}:send-idem:${sha256(key)}`;

/**
 * Accepts a send: the API and `relay send` both come here. Throws when Redis fails (the API answers
 * 503); a job add that fails after the script is undone as far as Redis still allows.
 */
export async function acceptSend(
  redis: RedisClient,
  queue: Queue<SendJobData>,
  prefix: string,
  request: SendRequest,
): Promise<SendAcceptance> {
  const accepting = defineScripts<AcceptCommands>(redis, { [ACCEPT_COMMAND]: { lua: ACCEPT } });
  const id = `snd_${randomUUID().replaceAll("-", "")}`;
  const acceptedMs = Date.now();
  const acceptedAt = new Date(acceptedMs).toISOString();
  const idemKey = request.idempotencyKey ? idempotencyKeyOf(prefix, request.idempotencyKey) : `${prefix}:send-idem:-`;
  // The account is a field of its own: the script may be the one that finds it.
  const recorded = JSON.stringify({ chatId: request.chatId, message: request.message });
  const [outcome, value] = await accepting[ACCEPT_COMMAND](
    6,
    idemKey,
    chatAccountKey(prefix, request.chatId),
    `${prefix}:send-seq`,
    sendLineKey(prefix, request.chatId),
    sendRecordKey(prefix, id),
    sendChatIndexKey(prefix, request.chatId),
    request.idempotencyKey ? "1" : "0",
    bodyHashOf(request),
    id,
    request.botWxid ?? "",
    recorded,
    acceptedAt,
    IDEMPOTENCY_WINDOW_MS,
    SEND_RECORD_TTL_MS,
    acceptedMs,
    INDEX_SIZE,
  );
  if (outcome === "no_account") return { outcome };
  if (outcome === "conflict") return { outcome, id: value };
  if (outcome === "duplicate") {
    const status = (await redis.hget(sendRecordKey(prefix, value), "status")) as SendStatus | null;
    return { outcome, id: value, status };
  }
  const data: SendJobData = {
    sendId: id,
    chatId: request.chatId,
    botWxid: value,
    message: request.message,
    acceptedAt,
  };
  try {
    await queue.add(sendJobName(data), data, sendJobOptions(id));
  } catch (error) {
    // Undo, so that the chat's line does not wait for a job that does not exist and the key can be used again.
    const undo = redis
      .multi()
      .zrem(sendLineKey(prefix, request.chatId), id)
      .zrem(sendChatIndexKey(prefix, request.chatId), id)
      .del(sendRecordKey(prefix, id));
    if (request.idempotencyKey) undo.del(idemKey);
    await undo.exec().catch(() => {});
    throw error;
  }
  return { outcome: "accepted", id, botWxid: value };
}
