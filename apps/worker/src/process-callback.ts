import type { Destination } from "@yuju-relay/config";
import type { EventHandler, EventHandlers } from "@yuju-relay/handlers";
import type { Logger } from "@yuju-relay/logging";
import { normalizeCallback, type RelayEvent, type RelayEventType } from "@yuju-relay/protocol";
import {
  eventSummary,
  readDestinationStatuses,
  type CallbackJobData,
  type CallbackJobResult,
  type DestinationStatus,
  type EventClaims,
  type RedisClient,
  type SendEchoes,
} from "@yuju-relay/queue";
import { UnrecoverableError, type Job } from "bullmq";
import { mergesAt, type AddToBursts } from "./burst-merge.ts";
import { whyNotWanted } from "./destination-filter.ts";
import { eventSubject } from "./event-subject.ts";
import type { FanOut } from "./fan-out.ts";
import { JobContext } from "./handler-context.ts";

/**
 * One callback job: validate and normalize it, drop it if its event was already taken by another
 * job (a platform redelivery; unless de-duplication is off), then hand the event to its code
 * handler if there is one, else fan it out to every destination that wants it (fan-out.ts: inline
 * first attempts, the rest to the destinations' queues, the event's record).
 *
 * A job that runs again (it failed, or its worker died) first reads what the event's record says of
 * each destination, so that it does not send again what was delivered: one read, only then.
 */
export function createCallbackProcessor(deps: {
  destinations: readonly Destination[];
  handlers: EventHandlers;
  fanOut: FanOut;
  /** Adds a message to its bursts at destinations with `merge`. */
  addToBursts?: AddToBursts;
  /** Null when de-duplication is off (DEDUP_WINDOW=0). */
  claims: EventClaims | null;
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  /** The send path's lookups: the chat's account, and `relaySendId` on the relay's own sends' callbacks. */
  sendEchoes?: SendEchoes;
}) {
  const { destinations, handlers, fanOut, addToBursts, claims, redis, prefix, logger } = deps;
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
    // The claim, and beside it (not after it: each is a batched round trip) the chat's hosted account
    // for sends without botWxid and `relaySendId` on the relay's own sends.
    const [claim] = await Promise.all([
      claims ? claims.claim(event.id, jobId) : null,
      event.type === "message.received" ? deps.sendEchoes?.observe(event) : undefined,
    ]);
    if (claim && !claim.claimed) {
      logger.info(
        { jobId, eventId: event.id, ...eventSubject(event), firstJobId: claim.ownerJobId },
        "duplicate callback dropped",
      );
      return { outcome: "duplicate", eventId: event.id, firstJobId: claim.ownerJobId };
    }
    const source = { callbackJobId: jobId, receivedAt: job.data.receivedAt };
    const summary = eventSummary(event, job.data.receivedAt, jobId);
    // Run again (a retry, or after its worker died: BullMQ counts every start).
    const rerun = job.attemptsMade > 0 || (job.attemptsStarted ?? 0) > 1;
    const previous: Record<string, DestinationStatus> | null = rerun
      ? await readDestinationStatuses(redis, prefix, event.id)
      : null;

    const handler = handlers[event.type] as EventHandler<RelayEventType> | undefined;
    if (handler) {
      const context = new JobContext(logger, event, byName, fanOut, source, summary, previous, job.attemptsMade + 1);
      const result = await handler(event as never, context);
      await context.recordIfUntouched();
      return {
        outcome: "handled",
        eventId: event.id,
        type: event.type,
        destinations: context.deliveredTo,
        delivered: context.deliveredInline,
        queued: context.queued,
        result: result ?? null,
      };
    }

    const wanted: Destination[] = [];
    const filtered: Array<{ name: string; reason: string }> = [];
    for (const d of enabled) {
      const why = whyNotWanted(d, event);
      if (why === null) wanted.push(d);
      else filtered.push({ name: d.name, reason: why });
    }
    // ---- Bursts: a destination with `merge` takes a message into its chat's burst instead of
    // delivering it (burst-*.ts); the burst goes out through its queue when it closes.
    const merging = addToBursts ? wanted.filter((d) => mergesAt(d, event)) : [];
    const direct = merging.length === 0 ? wanted : wanted.filter((d) => !merging.includes(d));
    const [dispatched] = await Promise.all([
      fanOut({ event, wanted: direct, filtered, source, summary, previous }),
      merging.length > 0 && event.type === "message.received" ? addToBursts!(event, merging, source) : undefined,
    ]);
    if (wanted.length === 0) {
      if (destinations.length === 0 && logger.isLevelEnabled("info")) logEvent(logger, jobId, event);
      return { outcome: "unmatched", eventId: event.id, type: event.type, reason: noDestinationReason };
    }
    return {
      outcome: "queued",
      eventId: event.id,
      type: event.type,
      destinations: wanted.map((d) => d.name),
      delivered: dispatched.delivered,
      queued: dispatched.queued,
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
