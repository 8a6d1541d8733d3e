import type { Queue } from "bullmq";
import type { RedisClient } from "./connections.ts";
import type { SendJobData } from "./job-catalog.ts";
import { sendProbeKey, sendQuotaKey } from "./send-keys.ts";

/** Whether the platform's quota is spent (a 402 holds every send), and since when. */
export async function sendQuotaHeldSince(redis: RedisClient, prefix: string): Promise<string | null> {
  return redis.get(sendQuotaKey(prefix));
}

/**
 * Ends a quota hold (`relay send resume`, or a probe's success): the held sends, which wait in
 * `delayed`, run now instead of at their next probe. Every delayed send is promoted: one that was
 * waiting for its turn or its pacing only checks again and waits again. Returns how many.
 */
export async function resumeHeldSends(redis: RedisClient, queue: Queue<SendJobData>, prefix: string): Promise<number> {
  await redis.del(sendQuotaKey(prefix), sendProbeKey(prefix));
  let promoted = 0;
  // Promoted jobs leave `delayed`: each round reads its head again, until a round promotes nothing.
  for (;;) {
    const jobs = await queue.getDelayed(0, 499);
    let round = 0;
    for (const job of jobs) {
      if (
        await job.promote().then(
          () => true,
          () => false,
        )
      )
        round++; // false: running or finished already
    }
    promoted += round;
    if (round === 0 || jobs.length < 500) return promoted;
  }
}
