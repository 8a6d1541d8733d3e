import type { Job } from "bullmq";
import { findEventJobs } from "./event-jobs.ts";
import type { EventSources } from "./event-sources.ts";
import { replayJob, replayWithoutJob, type ReplayOutcome, type ReplayRequest } from "./job-replay.ts";

export type EventReplay =
  | { ok: true; eventId: string; outcomes: Array<{ target: string; jobId: string; outcome: ReplayOutcome }> }
  | { ok: false; reason: "unknown" | "past_retention" | "no_destination" | "nothing"; message: string };

/**
 * Replays one event: its delivery to `destination`, or to every destination that has a delivery
 * job for it or that the record says was delivered inline (a delivery job is added for it) (and, without a destination, its callback job when that failed before its fan-out:
 * running it again creates the deliveries). What `relay replay <id>` and the dashboard's buttons do.
 */
export async function replayEvent(
  sources: EventSources,
  id: string,
  request: ReplayRequest & { destination?: string },
): Promise<EventReplay> {
  if (request.destination && !sources.deliveries.has(request.destination)) {
    return {
      ok: false,
      reason: "no_destination",
      message: `no destination named "${request.destination}" (known: ${[...sources.deliveries.keys()].join(", ") || "none"})`,
    };
  }
  const found = await findEventJobs(sources, id);
  if (!found) return { ok: false, reason: "unknown", message: `unknown event ${id}: nothing to replay` };
  if ("removed" in found) {
    return {
      ok: false,
      reason: "past_retention",
      message: `event ${id} is past retention: its callback job ${found.removed} was removed`,
    };
  }
  const targets: Array<[string, Parameters<typeof replayJob>[0]]> = [];
  for (const [name, job] of found.deliveries) {
    if (!request.destination || request.destination === name) targets.push([name, job]);
  }
  // Delivered inline (no delivery job): the replay adds the job, from the callback job's event.
  const inline: string[] = [];
  for (const [name, status] of Object.entries(found.record?.destinations ?? {})) {
    if (status.state !== "delivered" || found.deliveries.has(name) || !sources.deliveries.has(name)) continue;
    if (!request.destination || request.destination === name) inline.push(name);
  }
  if (request.destination && targets.length === 0 && inline.length === 0) {
    return {
      ok: false,
      reason: "nothing",
      message: `event ${found.eventId} has no delivery job for destination "${request.destination}"`,
    };
  }
  if (!request.destination && found.callback && (await found.callback.isFailed())) {
    targets.push(["callbacks", found.callback as Job]);
  }
  if (targets.length === 0 && inline.length === 0) {
    return {
      ok: false,
      reason: "nothing",
      message: `nothing to replay for ${found.eventId}: no destination has a delivery job for it`,
    };
  }
  const outcomes = await Promise.all([
    ...targets.map(async ([target, job]) => ({ target, jobId: job.id ?? "", outcome: await replayJob(job, request) })),
    ...inline.map(async (target) => ({
      target,
      jobId: "-",
      outcome: found.callback
        ? await replayWithoutJob(
            sources.deliveries.get(target)!,
            found.callback,
            target,
            sources.policies.get(target)!,
            request,
          )
        : ({ status: "error", reason: "delivered inline, and its callback job is past retention" } as ReplayOutcome),
    })),
  ]);
  return { ok: true, eventId: found.eventId, outcomes };
}
