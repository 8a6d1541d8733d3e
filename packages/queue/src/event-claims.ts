import type { RedisClient } from "./connections.ts";
import { createTickBatcher } from "./tick-batcher.ts";

// Claims a whole batch in one script call: KEYS are the events' claim keys, ARGV the claiming job
// ids in the same order, then the window. Each reply is false (claimed now) or the owner's job id.
// One call per batch, not one per claim: the command, its encoding and its reply cost the worker
// CPU per call, and so does each script run on Redis. Any Redis version (SET ... NX GET needs 7.0).
// In a Cluster, the keys share the hash-tagged queue prefix (enforced at start), so one slot.
const CLAIM_SCRIPT = `
local window = ARGV[#ARGV]
local owners = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if owner then
    owners[i] = owner
  else
    redis.call('SET', key, ARGV[i], 'PX', window)
    owners[i] = false
  end
end
return owners`;

// Defined on the connection with defineCommand: ioredis then sends EVALSHA (not the script's text on
// every call) and loads the script itself when Redis does not know it yet (NOSCRIPT).
const CLAIM_COMMAND = "yujuClaimEvents";
type ClaimingRedis = RedisClient & {
  [CLAIM_COMMAND](numKeys: number, ...keysThenArgs: Array<string | number>): Promise<Array<string | null>>;
};

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
    const args: Array<string | number> = batch.map((claim) => claim.key);
    for (const claim of batch) args.push(claim.jobId);
    args.push(this.windowMs);
    const owners = await (this.redis as ClaimingRedis)[CLAIM_COMMAND](batch.length, ...args);
    if (!Array.isArray(owners) || owners.length !== batch.length) {
      throw new Error(`event claims: ${batch.length} asked, ${Array.isArray(owners) ? owners.length : 0} answered`);
    }
    return owners;
  }
}
