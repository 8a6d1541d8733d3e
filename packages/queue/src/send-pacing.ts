import type { SlidingLimit } from "@yuju-relay/config";
import type { RedisClient } from "./connections.ts";
import {
  SEND_RECORD_TTL_MS,
  sendAttemptsKey,
  sendRecordKey,
  type SendAttempt,
  type SendAttemptOutcome,
} from "./send-record.ts";
import {
  SENT_ECHO_WINDOW_MS,
  sendAccountBusyKey,
  sendAccountKey,
  sendHoldKey,
  sendLineKey,
  sendProbeKey,
  sendQuotaKey,
  sendWindowKey,
  sentEchoKey,
} from "./send-keys.ts";

/**
 * Whether a send may call the platform now, across every worker: one script call, so that two
 * workers can never both take the last slot. In order:
 *
 *   already sent  the record says `sent` (a worker died between the platform's answer and the job's
 *                 completion): complete without calling again
 *   order         only the head of its chat's line may go; the others wait (parked, promoted by the
 *                 head's end). A head whose job no longer exists, or has finished, is dropped.
 *   429 hold      the whole key waits for the platform's Retry-After
 *   account       a hosted account's next send waits for its interval (with jitter, drawn by the caller)
 *   window        a sliding log of call times: no window of `windowMs`, wherever it starts, holds
 *                 more than `max` calls (a fixed window lets twice the limit through across an edge)
 *   402 hold      while the quota is spent, every send is held, but one may probe every interval
 * Going: the call is logged in the window, the account's next time set, the record marked `sending`.
 * A record already `sending` means a previous run started a call and never recorded its end: this
 * call may be a re-send (counted by the worker).
 *
 * Times are Redis's (TIME), not the workers' clocks, which may disagree.
 */
const BEGIN = `
local record, line, hold, quota, probe, account, window, busy =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local id, limit, windowMs, gap, probeMs, attempt, jobPrefix, flightMs = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7], tonumber(ARGV[8])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local status = redis.call("HGET", record, "status")
if status == "sent" then return {"already_sent", 0} end
for _ = 1, 20 do
  local head = redis.call("ZRANGE", line, 0, 0)[1]
  if not head or head == id then break end
  local headJob = jobPrefix .. head
  if redis.call("EXISTS", headJob) == 1 and redis.call("HEXISTS", headJob, "finishedOn") == 0 then return {"order", 0} end
  -- its job was removed (by hand, or its add failed), or it finished without ending its turn (it
  -- failed for good another way than through the platform's answer: too many stalls): it never will
  redis.call("ZREM", line, head)
end
local held = redis.call("EXISTS", quota) == 1
local holdMs = redis.call("PTTL", hold)
if holdMs > 0 then return {"rate_limited", holdMs} end
if gap > 0 then
  -- one call of an account at a time: its interval counts from the end of the call before
  if redis.call("EXISTS", busy) == 1 then return {"account", gap} end
  local nextAt = tonumber(redis.call("GET", account) or "0")
  if nextAt > now then return {"account", nextAt - now} end
end
if limit > 0 then
  redis.call("ZREMRANGEBYSCORE", window, "-inf", now - windowMs)
  if redis.call("ZCARD", window) >= limit then
    local oldest = tonumber(redis.call("ZRANGE", window, 0, 0, "WITHSCORES")[2])
    return {"window", math.max(1, oldest + windowMs - now + 1)}
  end
end
local probing = 0
if held then
  if not redis.call("SET", probe, id, "NX", "PX", probeMs) then
    redis.call("HSET", record, "status", "held")
    return {"held", probeMs}
  end
  probing = 1
end
if limit > 0 then
  -- in flight, a call counts as made at the latest time it can reach the platform; its end sets the real time
  redis.call("ZADD", window, now + flightMs, id .. ":" .. attempt)
  redis.call("PEXPIRE", window, windowMs + flightMs)
end
if gap > 0 then redis.call("SET", busy, id, "PX", flightMs) end
local resend = 0
if status == "sending" then resend = 1 end
redis.call("HSET", record, "status", "sending")
return {"go", resend, probing}
`;

const END = `
local record, attempts, line, echo, hold, quota, window, account, busy =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local id, outcome, attempt, response, ttl, echoMs, holdMs, heldSince, member, gap, windowMs = ARGV[1], ARGV[2], ARGV[3],
  ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11])
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if member ~= "" then
  -- the call reached the platform by now: its time in the window is now, and its account's interval starts now
  redis.call("ZADD", window, "XX", now, member)
  redis.call("PEXPIRE", window, windowMs)
  if redis.call("GET", busy) == id then redis.call("DEL", busy) end
  if gap > 0 then redis.call("SET", account, now + gap, "PX", gap) end
end
if attempt ~= "" then
  redis.call("RPUSH", attempts, attempt)
  redis.call("PEXPIRE", attempts, ttl)
end
local status = "queued"
if outcome == "sent" or outcome == "failed" or outcome == "held" then status = outcome end
redis.call("HSET", record, "status", status)
if response ~= "" then redis.call("HSET", record, "platformResponse", response) end
redis.call("PEXPIRE", record, ttl)
local resumed = 0
if outcome == "sent" and member ~= "" then
  -- a call the platform took: the quota is back, if it was spent
  if echoMs > 0 then redis.call("SET", echo, id, "PX", echoMs) end
  resumed = redis.call("DEL", quota)
end
if outcome == "rate_limited" and redis.call("PTTL", hold) < holdMs then redis.call("SET", hold, "1", "PX", holdMs) end
if outcome == "held" then redis.call("SET", quota, heldSince) end
if outcome == "sent" or outcome == "failed" then
  redis.call("ZREM", line, id)
  return {redis.call("ZRANGE", line, 0, 0)[1] or "", resumed}
end
return {"", resumed}
`;

const BEGIN_COMMAND = "yujuBeginSend";
const END_COMMAND = "yujuEndSend";
type PacingRedis = RedisClient & {
  [BEGIN_COMMAND](numKeys: number, ...keysThenArgs: Array<string | number>): Promise<[string, number, number?]>;
  [END_COMMAND](numKeys: number, ...keysThenArgs: Array<string | number>): Promise<[string, number]>;
};

export type SendVerdict =
  | { verdict: "go"; possibleResend: boolean; probe: boolean }
  | { verdict: "already_sent" }
  /** Behind another send of its chat: park until promoted. */
  | { verdict: "order" }
  /** Wait exactly this long: the key's 429 hold, the account's interval or the window. */
  | { verdict: "rate_limited" | "account" | "window"; waitMs: number }
  /** The quota is spent: wait for the next probe. */
  | { verdict: "held"; waitMs: number };

export interface SendPacingConfig {
  /** SEND_RATE_LIMIT; null: off. */
  rateLimit: SlidingLimit | null;
  /** SEND_ACCOUNT_INTERVAL; 0: off. */
  accountIntervalMs: number;
  probeIntervalMs: number;
  /** SEND_TIMEOUT: the longest a call can be in flight. */
  callTimeoutMs: number;
}

/** How far above the interval an account's next send may be drawn: `interval × (1 + U[0, 0.6])`. */
export const ACCOUNT_JITTER = 0.6;

export class SendPacing {
  private readonly redis: PacingRedis;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly queueName: string,
    private readonly config: SendPacingConfig,
    private readonly random = Math.random,
  ) {
    if (!(BEGIN_COMMAND in redis)) redis.defineCommand(BEGIN_COMMAND, { lua: BEGIN });
    if (!(END_COMMAND in redis)) redis.defineCommand(END_COMMAND, { lua: END });
    this.redis = redis as PacingRedis;
  }

  private gap(): number {
    return Math.round(this.config.accountIntervalMs * (1 + ACCOUNT_JITTER * this.random()));
  }

  /** A call in flight holds its account and its place in the window at most this long (a dead worker's too). */
  private get flightMs(): number {
    return this.config.callTimeoutMs + 1_000;
  }

  async begin(send: { sendId: string; chatId: string; botWxid: string }, attempt: number): Promise<SendVerdict> {
    const { rateLimit, probeIntervalMs } = this.config;
    const [verdict, value, probe] = await this.redis[BEGIN_COMMAND](
      8,
      sendRecordKey(this.prefix, send.sendId),
      sendLineKey(this.prefix, send.chatId),
      sendHoldKey(this.prefix),
      sendQuotaKey(this.prefix),
      sendProbeKey(this.prefix),
      sendAccountKey(this.prefix, send.botWxid),
      sendWindowKey(this.prefix),
      sendAccountBusyKey(this.prefix, send.botWxid),
      send.sendId,
      rateLimit?.max ?? 0,
      rateLimit?.windowMs ?? 1,
      this.gap(),
      probeIntervalMs,
      attempt,
      `${this.prefix}:${this.queueName}:`,
      this.flightMs,
    );
    switch (verdict) {
      case "go":
        return { verdict, possibleResend: value === 1, probe: probe === 1 };
      case "already_sent":
      case "order":
        return { verdict };
      case "held":
        return { verdict, waitMs: value };
      case "rate_limited":
      case "account":
      case "window":
        return { verdict, waitMs: Math.max(1, value) };
      default:
        throw new Error(`send pacing: unknown verdict ${String(verdict)}`);
    }
  }

  /**
   * Records an attempt's end. Returns the chat's next send, when this one is over, and whether a
   * quota hold just ended (a success while held).
   */
  async end(
    send: { sendId: string; chatId: string; botWxid: string; text: string | null },
    outcome: SendAttemptOutcome,
    attempt: SendAttempt | null,
    platformResponse: unknown,
    options: { holdMs?: number } = {},
  ): Promise<{ nextInChat: string | null; quotaResumed: boolean }> {
    const [next, resumed] = await this.redis[END_COMMAND](
      9,
      sendRecordKey(this.prefix, send.sendId),
      sendAttemptsKey(this.prefix, send.sendId),
      sendLineKey(this.prefix, send.chatId),
      send.text === null ? `${this.prefix}:sent:-` : sentEchoKey(this.prefix, send.chatId, send.text),
      sendHoldKey(this.prefix),
      sendQuotaKey(this.prefix),
      sendWindowKey(this.prefix),
      sendAccountKey(this.prefix, send.botWxid),
      sendAccountBusyKey(this.prefix, send.botWxid),
      send.sendId,
      outcome,
      attempt ? JSON.stringify(attempt) : "",
      platformResponse === undefined ? "" : JSON.stringify(platformResponse),
      SEND_RECORD_TTL_MS,
      send.text === null ? 0 : SENT_ECHO_WINDOW_MS,
      options.holdMs ?? 0,
      new Date().toISOString(),
      attempt ? `${send.sendId}:${attempt.attempt}` : "",
      this.config.accountIntervalMs > 0 ? this.gap() : 0,
      (this.config.rateLimit?.windowMs ?? 0) + this.flightMs,
    );
    return { nextInChat: next === "" ? null : next, quotaResumed: resumed === 1 };
  }

  /** The head of a chat's line (to promote a send parked behind one that just ended). */
  async headOf(chatId: string): Promise<string | null> {
    const [head] = await this.redis.zrange(sendLineKey(this.prefix, chatId), 0, 0);
    return head ?? null;
  }
}
