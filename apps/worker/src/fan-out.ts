import type { Destination } from "@yuju-relay/config";
import type { Logger } from "@yuju-relay/logging";
import type { RelayEvent } from "@yuju-relay/protocol";
import {
  deliveryJobId,
  type AttemptOutcome,
  type AttemptWrite,
  type DestinationStatus,
  type EventRecorder,
  type EventSummary,
} from "@yuju-relay/queue";
import { attemptRecord, factsOf } from "./delivery-attempt.ts";
import { DeliveryRefused, DestinationGone, DestinationRateLimited } from "./delivery-errors.ts";
import type { DestinationGates } from "./destination-gates.ts";
import type { DestinationHealth } from "./destination-health.ts";
import type { EnqueueDeliveries, FanOutSource, Handover } from "./enqueue-deliveries.ts";
import { eventSubject } from "./event-subject.ts";
import type { DeliverEvent } from "./signed-delivery.ts";
import type { WorkerMetrics } from "./worker-metrics.ts";

/**
 * How one destination gets one event, decided by the callback job:
 *   inline   the callback job makes the first attempt itself, now
 *   queue    the delivery goes to the destination's queue (`reason` says why)
 *   skip     nothing to do: a callback job run again finds the delivery already made
 * The one place that decides: a new reason to divert an event (a burst buffer, say) goes here.
 */
export type Route = { way: "inline" } | { way: "queue"; reason: string } | { way: "skip"; reason: string };

export interface RouteContext {
  /** On a callback job run again: each destination's status in the event's record. */
  previous: Readonly<Record<string, DestinationStatus>> | null;
  gates: Pick<DestinationGates, "closedBecause">;
  health: DestinationHealth | undefined;
  /** Set when inline delivery is turned off: why. */
  inlineOff?: string | null;
}

/**
 * The fan-out decision of one destination, without I/O. An inline route has taken a slot of the
 * destination's circuit breaker (`health.tryInline`): the caller gives it back.
 */
export function routeOf(destination: Destination, { previous, gates, health, inlineOff }: RouteContext): Route {
  const before = previous?.[destination.name];
  if (before?.state === "delivered") return { way: "skip", reason: "delivered before the callback job ran again" };
  // A status means the delivery was tried or handed over: its job (same id) is added again, which
  // BullMQ ignores when it exists. Never a second inline attempt from a re-run.
  if (before && before.state !== "filtered") return { way: "queue", reason: "callback job ran again" };
  if (inlineOff) return { way: "queue", reason: inlineOff };
  if (destination.ordering) return { way: "queue", reason: "ordered per conversation" };
  const closed = gates.closedBecause(destination.name);
  if (closed) return { way: "queue", reason: closed };
  if (health && !health.tryInline()) return { way: "queue", reason: "circuit open: recent inline attempts failed" };
  return { way: "inline" };
}

export interface Dispatch {
  event: RelayEvent;
  /** The enabled destinations that want the event. */
  wanted: readonly Destination[];
  /** The enabled destinations that did not, with the condition that excluded each. */
  filtered?: ReadonlyArray<{ name: string; reason: string }>;
  source: FanOutSource;
  summary: EventSummary;
  previous: Readonly<Record<string, DestinationStatus>> | null;
}

export interface DispatchResult {
  /** Delivered inline by this dispatch. */
  delivered: string[];
  /** Handed to their queues. */
  queued: string[];
}

export interface FanOutDeps {
  delivers: ReadonlyMap<string, DeliverEvent>;
  healths: ReadonlyMap<string, DestinationHealth>;
  gates: DestinationGates;
  enqueue: EnqueueDeliveries;
  recorder: EventRecorder;
  metrics: WorkerMetrics;
  logger: Logger;
  /** How long an inline attempt may take before the delivery is handed to its queue (INLINE_TIMEOUT). */
  inlineTimeoutMs: number;
  /** Each destination's backoff (its queue worker's backoffStrategy): the delay after a failed inline attempt. */
  backoffs: ReadonlyMap<string, (attemptsMade: number, type?: string, error?: Error) => number>;
  /** False (INLINE_TIMEOUT=0, or DEDUP_WINDOW=0): every delivery goes to its queue. */
  inline: boolean;
}

interface InlineEnd {
  write: AttemptWrite;
  handover: Handover | null;
}

/**
 * The callback job's fan-out: the first attempt to each wanted destination inline and concurrently
 * where routeOf allows it, the rest (and every inline attempt that did not deliver) handed to the
 * destination's queue, then the event's record written (summary, statuses, attempts: one batched
 * round trip) before the callback job completes. An inline failure never fails the callback job: it
 * becomes the delivery job's first attempt.
 */
export function createFanOut(deps: FanOutDeps) {
  const { delivers, healths, gates, enqueue, recorder, metrics, logger, inlineTimeoutMs, backoffs } = deps;
  const inlineOff = deps.inline ? null : "inline delivery off (INLINE_TIMEOUT=0 or DEDUP_WINDOW=0)";

  async function attemptInline(destination: Destination, event: RelayEvent, source: FanOutSource): Promise<InlineEnd> {
    const name = destination.name;
    const health = healths.get(name);
    const webhookId = event.id;
    const jobId = deliveryJobId(event.id);
    const startedAt = new Date();
    const started = performance.now();
    const record = (outcome: AttemptOutcome, facts: ReturnType<typeof factsOf>, reason: string | null) =>
      attemptRecord({
        destination: name,
        attempt: 1,
        inline: true,
        facts,
        outcome,
        webhookId,
        jobId: outcome === "delivered" ? null : jobId,
        reason,
      });
    try {
      const delivered = await delivers.get(name)!(event, source.receivedAt, webhookId, inlineTimeoutMs);
      health?.succeeded();
      metrics.answered(name, delivered.status, delivered.durationMs);
      metrics.delivery(name, "delivered");
      if (logger.isLevelEnabled("info")) {
        logger.info(
          {
            destination: name,
            jobId: source.callbackJobId,
            eventId: event.id,
            ...eventSubject(event),
            status: delivered.status,
            durationMs: delivered.durationMs,
            inline: true,
          },
          "event delivered",
        );
      }
      return { write: { eventId: event.id, ...record("delivered", delivered.facts, null) }, handover: null };
    } catch (error) {
      const facts = factsOf(error, startedAt, started);
      if (facts.status !== null) metrics.answered(name, facts.status, facts.durationMs);
      const reason = (error as Error).message;
      const subject = {
        destination: name,
        jobId: source.callbackJobId,
        eventId: event.id,
        ...eventSubject(event),
        err: reason,
        inline: true,
      };
      if (error instanceof DestinationRateLimited) {
        health?.neutral();
        const waitMs = Math.min(error.retryAfterMs, destination.retry.maxDelayMs);
        await gates.rateLimit(name, waitMs);
        metrics.delivery(name, "rate_limited");
        logger.warn({ ...subject, waitMs }, "destination rate-limited us: the whole destination waits");
        // A 429 with Retry-After uses no attempt: the job waits for the limiter.
        return { write: { eventId: event.id, ...record("rate_limited", facts, reason) }, handover: { destination } };
      }
      if (error instanceof DestinationGone) {
        health?.neutral();
        await gates.pause(name);
        metrics.delivery(name, "paused");
        logger.error(subject, "destination answered 410 Gone: paused until resumed (dashboard: the queue's Resume)");
        return { write: { eventId: event.id, ...record("paused", facts, reason) }, handover: { destination } };
      }
      const final = error instanceof DeliveryRefused || destination.attempts <= 1;
      if (error instanceof DeliveryRefused) health?.neutral();
      else health?.failed();
      // A final failure is counted and logged once, by its job's failure (it fails at once, unsent).
      if (!final) {
        metrics.delivery(name, "retrying");
        logger.warn(subject, "inline delivery failed: handed to its queue");
      }
      const handover: Handover = final
        ? { destination, priorAttempts: 1, failedInline: reason }
        : { destination, priorAttempts: 1, delayMs: backoffs.get(name)?.(1, undefined, error as Error) ?? 0 };
      return { write: { eventId: event.id, ...record(final ? "failed" : "retrying", facts, reason) }, handover };
    }
  }

  return async function dispatch(d: Dispatch): Promise<DispatchResult> {
    const { event, wanted, source, previous } = d;
    const inline: Destination[] = [];
    const queued: Array<{ handover: Handover; reason: string }> = [];
    const roomChecks: Array<Promise<void>> = [];
    for (const destination of wanted) {
      const route = routeOf(destination, { previous, gates, health: healths.get(destination.name), inlineOff });
      if (route.way === "skip") continue;
      if (route.way === "queue") {
        queued.push({ handover: { destination }, reason: route.reason });
        continue;
      }
      if (destination.rateLimit === null) {
        inline.push(destination);
        continue;
      }
      roomChecks.push(
        gates.hasRoom(destination.name).then((room) => {
          if (room) inline.push(destination);
          else {
            healths.get(destination.name)?.neutral();
            queued.push({ handover: { destination }, reason: "no room under its rateLimit" });
          }
        }),
      );
    }
    if (roomChecks.length > 0) await Promise.all(roomChecks);

    const [handedOver, inlineEnds] = await Promise.all([
      queued.length > 0
        ? enqueue(
            event,
            queued.map((q) => q.handover),
            source,
          )
        : Promise.resolve([]),
      Promise.all(inline.map((destination) => attemptInline(destination, event, source))),
    ]);
    const retries = inlineEnds.flatMap((end) => (end.handover ? [end.handover] : []));
    if (retries.length > 0) await enqueue(event, retries, source);

    const at = new Date().toISOString();
    const statuses: Array<{ name: string; status: DestinationStatus }> = [];
    for (const f of d.filtered ?? [])
      statuses.push({ name: f.name, status: { state: "filtered", reason: f.reason, jobId: null, at } });
    queued.forEach((q, i) => {
      const state = handedOver[i];
      if (state === "taken") return;
      statuses.push({
        name: q.handover.destination.name,
        status: { state: state ?? "queued", reason: q.reason, jobId: deliveryJobId(event.id), at },
      });
    });
    await recorder.write({
      events: [{ summary: d.summary, destinations: statuses }],
      attempts: inlineEnds.map((end) => end.write),
    });
    return {
      delivered: inlineEnds
        .filter((end) => end.write.attempt.outcome === "delivered")
        .map((end) => end.write.attempt.destination),
      queued: [...queued.map((q) => q.handover.destination.name), ...retries.map((h) => h.destination.name)],
    };
  };
}

export type FanOut = ReturnType<typeof createFanOut>;
