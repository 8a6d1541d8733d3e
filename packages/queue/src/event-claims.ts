import type { RedisClient } from "./connections.ts";
import { createTickBatcher } from "./tick-batcher.ts";

// One round trip, any Redis version (SET ... NX GET needs 7.0), one key: Cluster-safe.
const CLAIM_SCRIPT = `
local owner = redis.call('GET', KEYS[1])
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return false
end
return owner`;

// Defined on the connection with defineCommand: ioredis then sends EVALSHA (not the script's text on
// every call) and loads the script itself when Redis does not know it yet (NOSCRIPT).
const CLAIM_COMMAND = "yujuClaimEvent";
type ClaimingRedis = RedisClient & {
  [CLAIM_COMMAND](key: string, jobId: string, windowMs: number): Promise<string | null>;
};
interface ClaimPipeline {
  [CLAIM_COMMAND](key: string, jobId: string, windowMs: number): ClaimPipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
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
 * as one pipeline: one write and one read for all of them instead of one each.
 */
export class EventClaims {
  private readonly claimInTurn = createTickBatcher((batch: PendingClaim[]) => this.runClaims(batch), { maxBatch: 256 });

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly windowMs: number,
  ) {
    if (!(CLAIM_COMMAND in redis)) redis.defineCommand(CLAIM_COMMAND, { numberOfKeys: 1, lua: CLAIM_SCRIPT });
  }

  key(eventId: string): string {
    return `${this.prefix}:event-claims:${eventId}`;
  }

  async claim(eventId: string, jobId: string): Promise<ClaimOutcome> {
    const owner = await this.claimInTurn({ key: this.key(eventId), jobId });
    // A retry of the job that holds the claim is still that job's work.
    return owner === null || owner === jobId ? { claimed: true } : { claimed: false, ownerJobId: owner };
  }

  /** One claim: one EVALSHA. Several: one pipeline. A reply that is an error fails the whole batch (its jobs retry). */
  private async runClaims(batch: PendingClaim[]): Promise<Array<string | null>> {
    if (batch.length === 1) {
      const [only] = batch as [PendingClaim];
      return [await (this.redis as ClaimingRedis)[CLAIM_COMMAND](only.key, only.jobId, this.windowMs)];
    }
    const pipeline = this.redis.pipeline() as unknown as ClaimPipeline;
    for (const claim of batch) pipeline[CLAIM_COMMAND](claim.key, claim.jobId, this.windowMs);
    const replies = (await pipeline.exec()) ?? [];
    return batch.map((_, i) => {
      const [error, owner] = replies[i] ?? [new Error("no reply to the event claim"), null];
      if (error) throw error;
      return owner as string | null;
    });
  }
}
