import type { Redis } from "ioredis";

// One round trip, any Redis version (SET ... NX GET needs 7.0), one key: Cluster-safe.
const CLAIM_SCRIPT = `
local owner = redis.call('GET', KEYS[1])
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return false
end
return owner`;

export type ClaimOutcome = { claimed: true } | { claimed: false; ownerJobId: string };

/**
 * De-duplication of platform redeliveries. The first job to reach an event claims it for the
 * window; a later job carrying the same event sees the claim and completes as a duplicate. The
 * claim is a key of its own, so the window holds whatever the job retention, and "clean" in the
 * dashboard cannot reopen it. It is taken by the worker, not the ingress: a claim made before the
 * job was durably queued could outlive a failed enqueue and drop the platform's retry.
 */
export class EventClaims {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly windowMs: number,
  ) {}

  key(eventId: string): string {
    return `${this.prefix}:event-claims:${eventId}`;
  }

  async claim(eventId: string, jobId: string): Promise<ClaimOutcome> {
    const owner = (await this.redis.eval(CLAIM_SCRIPT, 1, this.key(eventId), jobId, this.windowMs)) as string | null;
    // A retry of the job that holds the claim is still that job's work.
    return owner === null || owner === jobId ? { claimed: true } : { claimed: false, ownerJobId: owner };
  }
}
