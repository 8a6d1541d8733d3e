import type { RedisClient } from "./connections.ts";
import { createTickBatcher } from "./tick-batcher.ts";

// Claims a whole batch in one script call: KEYS are the events' claim keys, ARGV the claiming job
// ids in the same order, then the window. Each reply is false (claimed now) or the owner's job id.
// One call per batch, not one per claim: the command, its encoding and its reply cost the worker
// CPU per call, and so does each script run on Redis. Any Redis version (SET ... NX GET needs 7.0).
// In a Cluster, the keys share the hash-tagged queue prefix (enforced at start), so one slot.
//
// Then, riding the same call, each watched destination queue's gate (its meta hash and limiter
// key, with the limiter's maximum in ARGV after the window): 0 open, -1 paused, else the ms its
// limiter stays full. The inline fan-out reads a pause or a 429's wait here, fresh per batch,
// without a round trip of its own. ARGV[#ARGV] is the number of claims.
const CLAIM_SCRIPT = `
local n = tonumber(ARGV[#ARGV])
local window = ARGV[n + 1]
local owners = {}
for i = 1, n do
  local key = KEYS[i]
  local owner = redis.call('GET', key)
  if owner then
    owners[i] = owner
  else
    redis.call('SET', key, ARGV[i], 'PX', window)
    owners[i] = false
  end
end
local g = 1
for k = n + 1, #KEYS, 2 do
  local state = 0
  if redis.call('HEXISTS', KEYS[k], 'paused') == 1 then
    state = -1
  elseif tonumber(redis.call('GET', KEYS[k + 1]) or 0) >= tonumber(ARGV[n + 1 + g]) then
    local ttl = redis.call('PTTL', KEYS[k + 1])
    if ttl > 0 then state = ttl end
  end
  owners[n + g] = state
  g = g + 1
end
return owners`;

// Defined on the connection with defineCommand: ioredis then sends EVALSHA (not the script's text on
// every call) and loads the script itself when Redis does not know it yet (NOSCRIPT).
const CLAIM_COMMAND = "yujuClaimEvents";
type ClaimingRedis = RedisClient & {
  [CLAIM_COMMAND](numKeys: number, ...keysThenArgs: Array<string | number>): Promise<Array<string | number | null>>;
};

/** A destination queue whose gate the claims read: BullMQ's meta hash (paused) and limiter key. */
export interface WatchedQueue {
  name: string;
  metaKey: string;
  limiterKey: string;
  /** The limiter's maximum per window (the queue workers' `limiter.max`). */
  max: number;
}

/** Each watched queue's gate as of one batch of claims: 0 open, -1 paused, else ms rate-limited. */
export type QueueGates = ReadonlyMap<string, number>;

/** The claim of an event: its value is the id of the callback job that took the event (`relay event` reads it). */
export function eventClaimKey(prefix: string, eventId: string): string {
  return `${prefix}:event-claims:${eventId}`;
}

export type ClaimOutcome = { claimed: true } | { claimed: false; ownerJobId: string };

interface PendingClaim {
  key: string;
  jobId: string;
}

/**
 * De-duplication of platform redeliveries. The first job to reach an event claims it for the
 * window; a later job carrying the same event sees the claim and completes as a duplicate. The
 * claim is a key of its own, so the window holds whatever the job retention, and "clean" in the
 * dashboard cannot reopen it. It is taken by the worker, not the ingress: a claim made before the
 * job was durably queued could outlive a failed enqueue and drop the platform's retry.
 *
 * The claims that a worker's concurrent jobs make in the same turn of the event loop go to Redis
 * as one script call: one command, one write and one read for all of them instead of one each.
 */
export class EventClaims {
  private readonly claimInTurn = createTickBatcher((batch: PendingClaim[]) => this.runClaims(batch), { maxBatch: 256 });

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly windowMs: number,
    /** Destination queues whose gates each batch reads, and who is told (once per batch). */
    private readonly watch: { queues: readonly WatchedQueue[]; onGates: (gates: QueueGates) => void } | null = null,
  ) {
    // No numberOfKeys: each call says how many keys it passes.
    if (!(CLAIM_COMMAND in redis)) redis.defineCommand(CLAIM_COMMAND, { lua: CLAIM_SCRIPT });
  }

  key(eventId: string): string {
    return eventClaimKey(this.prefix, eventId);
  }

  async claim(eventId: string, jobId: string): Promise<ClaimOutcome> {
    const owner = await this.claimInTurn({ key: this.key(eventId), jobId });
    // A retry of the job that holds the claim is still that job's work.
    return owner === null || owner === jobId ? { claimed: true } : { claimed: false, ownerJobId: owner };
  }

  /** The batch: one EVALSHA. An error fails the whole batch (its jobs retry). */
  private async runClaims(batch: PendingClaim[]): Promise<Array<string | null>> {
    const keys: string[] = batch.map((claim) => claim.key);
    const args: Array<string | number> = batch.map((claim) => claim.jobId);
    args.push(this.windowMs);
    const watched = this.watch?.queues ?? [];
    for (const q of watched) {
      keys.push(q.metaKey, q.limiterKey);
      args.push(q.max);
    }
    args.push(batch.length);
    const replies = await (this.redis as ClaimingRedis)[CLAIM_COMMAND](keys.length, ...keys, ...args);
    if (!Array.isArray(replies) || replies.length !== batch.length + watched.length) {
      throw new Error(`event claims: ${batch.length} asked, ${Array.isArray(replies) ? replies.length : 0} answered`);
    }
    if (this.watch && watched.length > 0) {
      this.watch.onGates(new Map(watched.map((q, i) => [q.name, Number(replies[batch.length + i])])));
    }
    return (replies.length === batch.length ? replies : replies.slice(0, batch.length)) as Array<string | null>;
  }
}
