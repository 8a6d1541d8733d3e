import { ConversationOrder } from "@yuju-relay/queue";
import type { EventSources } from "./event-sources.ts";
import { reasonExcerpt, shownState } from "./job-views.ts";

/** Who holds an ordered destination's line in one conversation, and why the others wait. */
export interface ConversationLine {
  destination: string;
  /** Deliveries still in line, the head included. */
  inLine: number;
  headJobId: string;
  headEventId: string | null;
  headState: string;
  why: string;
}

/**
 * For every destination with a line in this conversation (only ordered destinations keep one, see
 * ConversationOrder), its head: the one delivery allowed to go, which every later event waits on.
 */
export async function conversationLines(sources: EventSources, chatId: string): Promise<ConversationLine[]> {
  const lines: ConversationLine[] = [];
  for (const [destination, queue] of sources.deliveries) {
    const key = new ConversationOrder(sources.redis, queue, sources.prefix, destination, sources.callbacks).setKey(
      chatId,
    );
    const [head, inLine] = await Promise.all([sources.redis.zrange(key, 0, 0), sources.redis.zcard(key)]);
    const headJobId = head[0];
    if (!headJobId) continue;
    const job = await queue.getJob(headJobId);
    const behind = inLine - 1;
    const waiting = behind > 0 ? `; ${behind} later event${behind === 1 ? "" : "s"} wait behind it` : "";
    if (!job) {
      lines.push({
        destination,
        inLine,
        headJobId,
        headEventId: null,
        headState: "gone",
        why: `its job is gone (removed): the next delivery of this conversation clears it${waiting}`,
      });
      continue;
    }
    const state = await shownState(job);
    const last = reasonExcerpt(job.failedReason);
    const why =
      state === "failed"
        ? `its delivery failed${last ? ` (${last})` : ""} and the destination blocks on failure: replay it, or skip it${waiting}`
        : state === "retrying"
          ? `retrying after attempt ${job.attemptsMade}${last ? ` (${last})` : ""}${waiting}`
          : state === "active"
            ? `being delivered now${waiting}`
            : `its turn: waiting for a worker${waiting}`;
    lines.push({ destination, inLine, headJobId, headEventId: job.data.event.id, headState: state, why });
  }
  return lines;
}
