import { normalizeCallback, type RelayEvent } from "@yuju-relay/protocol";
import type { CallbackJobData, EventClaims } from "@yuju-relay/queue";
import type { Logger } from "@yuju-relay/logging";
import { UnrecoverableError, type Job } from "bullmq";
import { dispatchEvent, type EventHandlers, type HandlerContext } from "./event-handlers.ts";

/**
 * What a handler gets besides its event. A class, not an object literal with a getter: the getter's
 * closure kept each job's objects alive past the next young-generation GC, which made the worker
 * promote them and collect them again in the old generation (docs/performance.md).
 */
class JobContext implements HandlerContext {
  private childLogger: Logger | undefined;
  constructor(
    private readonly baseLogger: Logger,
    private readonly event: RelayEvent,
    readonly jobId: string,
    readonly attempt: number,
    readonly receivedAt: string,
  ) {}

  // A child logger costs a serialization of its bindings (and redaction): made only for a handler
  // that logs, not for every job.
  get logger(): Logger {
    return (this.childLogger ??= this.baseLogger.child({
      jobId: this.jobId,
      eventId: this.event.id,
      type: this.event.type,
      ...eventSubject(this.event),
    }));
  }
}

/** What names an event in a log line besides its id: its messageId, or its room id. */
function eventSubject(event: RelayEvent): { messageId: string } | { roomId: string } {
  return event.type === "message.received" ? { messageId: event.data.messageId } : { roomId: event.data.room.id };
}

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
      deps.logger.info(
        { jobId, eventId: event.id, ...eventSubject(event), firstJobId: claim.ownerJobId },
        "duplicate callback dropped",
      );
      return { outcome: "duplicate", eventId: event.id, firstJobId: claim.ownerJobId };
    }
    const context = new JobContext(deps.logger, event, jobId, job.attemptsMade + 1, job.data.receivedAt);
    const result = await dispatchEvent(deps.handlers, event, context);
    return { outcome: "handled", eventId: event.id, type: event.type, result: result ?? null };
  };
}
