import { normalizeCallback } from "@yuju-relay/protocol";
import type { CallbackJobData, EventClaims } from "@yuju-relay/queue";
import type { Logger } from "@yuju-relay/logging";
import { UnrecoverableError, type Job } from "bullmq";
import { dispatchEvent, type EventHandlers } from "./event-handlers.ts";

export type CallbackJobResult =
  | { outcome: "handled"; eventId: string; type: string; result: unknown }
  | { outcome: "duplicate"; eventId: string; firstJobId: string };

/**
 * One callback job: validate and normalize it, drop it if its event was already taken by another
 * job (a platform redelivery; unless de-duplication is off), then hand the event to its handler.
 */
export function createCallbackProcessor(deps: {
  handlers: EventHandlers;
  /** Null when de-duplication is off (DEDUP_WINDOW=0). */
  claims: EventClaims | null;
  logger: Logger;
}) {
  return async function processCallback(job: Job<CallbackJobData>): Promise<CallbackJobResult> {
    const normalized = normalizeCallback(job.data.kind, job.data.body);
    if (!normalized.ok) {
      // Retrying cannot fix a body; it stays in the failed set with this reason, for a fix and a replay.
      throw new UnrecoverableError(normalized.reason);
    }
    const { event } = normalized;
    const jobId = job.id ?? "";
    const claim = deps.claims ? await deps.claims.claim(event.id, jobId) : null;
    if (claim && !claim.claimed) {
      deps.logger.info({ jobId, eventId: event.id, firstJobId: claim.ownerJobId }, "duplicate callback dropped");
      return { outcome: "duplicate", eventId: event.id, firstJobId: claim.ownerJobId };
    }
    // A child logger costs a serialization of its bindings (and redaction): made only for a handler
    // that logs, not for every job.
    let logger: Logger | undefined;
    const result = await dispatchEvent(deps.handlers, event, {
      jobId,
      attempt: job.attemptsMade + 1,
      receivedAt: job.data.receivedAt,
      get logger() {
        return (logger ??= deps.logger.child({ jobId, eventId: event.id, type: event.type }));
      },
    });
    return { outcome: "handled", eventId: event.id, type: event.type, result: result ?? null };
  };
}
