import type { Logger } from "@yuju-relay/logging";
import type { RelayEvent, RelayEventOf, RelayEventType } from "@yuju-relay/protocol";

export interface HandlerContext {
  jobId: string;
  /** 1 on the first try. */
  attempt: number;
  /** When the ingress accepted the callback (ISO). */
  receivedAt: string;
  logger: Logger;
}

/**
 * One handler per event type. A handler that throws is retried with backoff (BullMQ's
 * UnrecoverableError fails it at once); it must be idempotent, as delivery is at-least-once.
 * What a handler returns is kept as the job's result, visible in the dashboard.
 */
export type EventHandler<T extends RelayEventType> = (
  event: RelayEventOf<T>,
  context: HandlerContext,
) => Promise<unknown>;
export type EventHandlers = { [T in RelayEventType]: EventHandler<T> };

/** Something every event can go to: the signed forwarder, or the log. */
export type EventSink = (event: RelayEvent, context: HandlerContext) => Promise<unknown>;

/**
 * The handler registry. Every event type goes to the sink (signed delivery to FORWARD_URL) by default.
 * Add your own logic here, for example:
 *
 *   "message.received": async (event, ctx) => {
 *     if (event.data.isSelf) return { skipped: "own message" }; // never answer yourself
 *     await myCrm.saveMessage(event.data);
 *     return sink(event, ctx);
 *   },
 */
export function createEventHandlers(sink: EventSink): EventHandlers {
  return {
    "message.received": sink,
    "room.members_left": sink,
    "room.members_joined": sink,
  };
}

export function dispatchEvent(handlers: EventHandlers, event: RelayEvent, context: HandlerContext): Promise<unknown> {
  // The union cannot be narrowed through the index; each handler is keyed by its own event's type.
  const handler = handlers[event.type] as EventHandler<RelayEventType>;
  return handler(event as RelayEventOf<RelayEventType>, context);
}
