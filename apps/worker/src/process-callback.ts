import type { Destination } from "@yuju-relay/config";
import type { EventHandler, EventHandlers } from "@yuju-relay/handlers";
import type { Logger } from "@yuju-relay/logging";
import { normalizeCallback, type RelayEvent, type RelayEventType } from "@yuju-relay/protocol";
import type { CallbackJobData, EventClaims } from "@yuju-relay/queue";
import { UnrecoverableError, type Job } from "bullmq";
import { mergesAt, type AddToBursts } from "./burst-merge.ts";
import { wantsEvent } from "./destination-filter.ts";
import type { EnqueueDeliveries } from "./enqueue-deliveries.ts";
import { eventSubject } from "./event-subject.ts";
import { JobContext } from "./handler-context.ts";

/** What a callback job leaves as its result, visible in the dashboard. */
export type CallbackJobResult =
  /**
   * Queued for these destinations (their filters matched); `merged`: those of them with `merge`,
   * where it went into its chat's burst instead.
   */
  | { outcome: "queued"; eventId: string; type: string; destinations: string[]; merged?: string[] }
  /** No destination wanted it: completed, on purpose. */
  | { outcome: "unmatched"; eventId: string; type: string; reason: string }
  /** A code handler (HANDLERS_MODULE) took it; `destinations` are those it delivered to. */
  | { outcome: "handled"; eventId: string; type: string; destinations: string[]; result: unknown }
  /** A platform redelivery of an event another job already took. */
  | { outcome: "duplicate"; eventId: string; firstJobId: string };

/**
 * One callback job: validate and normalize it, drop it if its event was already taken by another
 * job (a platform redelivery; unless de-duplication is off), then hand the event to its code
 * handler if there is one, else queue it for every destination that wants it.
 */
export function createCallbackProcessor(deps: {
  destinations: readonly Destination[];
  handlers: EventHandlers;
  enqueue: EnqueueDeliveries;
  /** Adds a message to its bursts at destinations with `merge`. */
  addToBursts?: AddToBursts;
  /** Null when de-duplication is off (DEDUP_WINDOW=0). */
  claims: EventClaims | null;
  logger: Logger;
}) {
  const { destinations, handlers, enqueue, addToBursts, claims, logger } = deps;
  const byName = new Map(destinations.map((d) => [d.name, d]));
  const enabled = destinations.filter((d) => d.enabled);
  const noDestinationReason = destinations.length === 0 ? "no destination is configured" : "no destination wants it";

  return async function processCallback(job: Job<CallbackJobData>): Promise<CallbackJobResult> {
    const normalized = normalizeCallback(job.data.kind, job.data.body);
    if (!normalized.ok) {
      // Retrying cannot fix a body; it stays in the failed set with this reason, for a fix and a replay.
      throw new UnrecoverableError(normalized.reason);
    }
    const { event } = normalized;
    const jobId = job.id ?? "";
    const claim = claims ? await claims.claim(event.id, jobId) : null;
    if (claim && !claim.claimed) {
      logger.info(
        { jobId, eventId: event.id, ...eventSubject(event), firstJobId: claim.ownerJobId },
        "duplicate callback dropped",
      );
      return { outcome: "duplicate", eventId: event.id, firstJobId: claim.ownerJobId };
    }

    const handler = handlers[event.type] as EventHandler<RelayEventType> | undefined;
    if (handler) {
      const context = new JobContext(logger, event, byName, enqueue, jobId, job.attemptsMade + 1, job.data.receivedAt);
      const result = await handler(event as never, context);
      return {
        outcome: "handled",
        eventId: event.id,
        type: event.type,
        destinations: context.deliveredTo,
        result: result ?? null,
      };
    }

    const matching = enabled.filter((d) => wantsEvent(d, event));
    if (matching.length === 0) {
      if (destinations.length === 0 && logger.isLevelEnabled("info")) logEvent(logger, jobId, event);
      return { outcome: "unmatched", eventId: event.id, type: event.type, reason: noDestinationReason };
    }
    const source = { callbackJobId: jobId, receivedAt: job.data.receivedAt };
    // ---- Bursts (issue 20) hook: for a destination with `merge`, add the event to its burst
    // instead of delivering it. Everything else about bursts lives in burst-*.ts.
    const merging = addToBursts ? matching.filter((d) => mergesAt(d, event)) : [];
    const direct = merging.length === 0 ? matching : matching.filter((d) => !merging.includes(d));
    await Promise.all([
      direct.length > 0 ? enqueue(event, direct, source) : undefined,
      merging.length > 0 && event.type === "message.received" ? addToBursts!(event, merging, source) : undefined,
    ]);
    // ---- end of the bursts hook
    return {
      outcome: "queued",
      eventId: event.id,
      type: event.type,
      destinations: matching.map((d) => d.name),
      ...(merging.length > 0 ? { merged: merging.map((d) => d.name) } : {}),
    };
  };
}

/** Without any destination (neither RELAY_CONFIG nor FORWARD_URL), the event is logged: for trying things out. */
function logEvent(logger: Logger, jobId: string, event: RelayEvent) {
  logger.info(
    { jobId, eventId: event.id, ...eventSubject(event), event },
    "event (no destination configured: logged, not delivered)",
  );
}
