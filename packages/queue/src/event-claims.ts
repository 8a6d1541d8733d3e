import type { RedisClient } from "./connections.ts";

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
  resolve: (owner: string | null) => void;
  reject: (error: unknown) => void;
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
  private pending: PendingClaim[] = [];

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
    const owner = await new Promise<string | null>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ key: this.key(eventId), jobId, resolve, reject });
    });
    // A retry of the job that holds the claim is still that job's work.
    return owner === null || owner === jobId ? { claimed: true } : { claimed: false, ownerJobId: owner };
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 1) {
      const [only] = batch as [PendingClaim];
      (this.redis as ClaimingRedis)[CLAIM_COMMAND](only.key, only.jobId, this.windowMs).then(only.resolve, only.reject);
      return;
    }
    const pipeline = this.redis.pipeline() as unknown as ClaimPipeline;
    for (const claim of batch) pipeline[CLAIM_COMMAND](claim.key, claim.jobId, this.windowMs);
    pipeline.exec().then(
      (results) => {
        batch.forEach((claim, i) => {
          const [error, owner] = results?.[i] ?? [new Error("no reply to the event claim"), null];
          if (error) claim.reject(error);
          else claim.resolve(owner as string | null);
        });
      },
      (error: unknown) => {
        for (const claim of batch) claim.reject(error);
      },
    );
  }
}
