import type { RelayEvent, RelayEventOf, RelayEventType } from "@yuju-relay/protocol";

/** pino's methods, as handlers use them: `logger.info({ room }, "tagged")`. */
export interface HandlerLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

/** An event to deliver: the event itself, or a copy with changed or added `data` fields (tags). */
export interface OutgoingEvent {
  type: RelayEventType;
  data: object;
}

export interface HandlerContext {
  /** The callback job. */
  jobId: string;
  /** 1 on the first try. */
  attempt: number;
  /** When the ingress accepted the callback (ISO): the envelope's `timestamp`. */
  receivedAt: string;
  logger: HandlerLogger;
  /**
   * Queues the event (or a changed copy) for the named destination, which signs, retries and
   * rate-limits it by its own settings. `webhook-id` stays the event's id; at most one delivery per
   * event and destination, however often the handler runs. Throws for an unknown or disabled
   * destination.
   */
  deliver(destination: string, event?: OutgoingEvent): Promise<void>;
  /** What happens without a handler: queues it for every destination whose `events` and `filter` match. Returns their names. */
  deliverToMatching(event?: OutgoingEvent): Promise<string[]>;
}

/**
 * One event type's handler. It runs once the event is validated and de-duplicated; what it returns
 * is kept as the callback job's result (visible in the dashboard). Throwing retries the callback job
 * with backoff, so a handler must tolerate running twice for the same event.
 */
export type EventHandler<T extends RelayEventType> = (
  event: RelayEventOf<T>,
  context: HandlerContext,
) => unknown | Promise<unknown>;

/** At most one handler per event type; a type without one goes to the destinations that match it. */
export type EventHandlers = { [T in RelayEventType]?: EventHandler<T> };

/** Types a HANDLERS_MODULE's default export: `export default defineHandlers({ "message.received": … })`. */
export declare function defineHandlers<Handlers extends EventHandlers>(handlers: Handlers): Handlers;

export type { RelayEvent, RelayEventOf, RelayEventType };
