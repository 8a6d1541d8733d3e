import type { Destination } from "@yuju-relay/config";
import type { HandlerContext, OutgoingEvent } from "@yuju-relay/handlers";
import type { Logger } from "@yuju-relay/logging";
import type { RelayEvent } from "@yuju-relay/protocol";
import { wantsEvent } from "./destination-filter.ts";
import type { EnqueueDeliveries } from "./enqueue-deliveries.ts";
import { eventSubject } from "./event-subject.ts";

/**
 * What a code handler gets besides its event. A class, not an object literal with a getter: the
 * getter's closure kept each job's objects alive past the next young-generation GC, which made the
 * worker promote them and collect them again in the old generation (docs/performance.md).
 */
export class JobContext implements HandlerContext {
  private childLogger: Logger | undefined;
  /** The destinations this job queued the event for, in order: the callback job's result. */
  readonly deliveredTo: string[] = [];

  constructor(
    private readonly baseLogger: Logger,
    private readonly event: RelayEvent,
    private readonly destinations: ReadonlyMap<string, Destination>,
    private readonly enqueue: EnqueueDeliveries,
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

  async deliver(name: string, event?: OutgoingEvent): Promise<void> {
    const destination = this.destinations.get(name);
    if (!destination) {
      throw new Error(`deliver: no destination named "${name}" (known: ${[...this.destinations.keys()].join(", ")})`);
    }
    if (!destination.enabled) throw new Error(`deliver: destination "${name}" is disabled`);
    await this.enqueue(this.outgoing(event), [destination], { callbackJobId: this.jobId, receivedAt: this.receivedAt });
    if (!this.deliveredTo.includes(name)) this.deliveredTo.push(name);
  }

  async deliverToMatching(event?: OutgoingEvent): Promise<string[]> {
    const outgoing = this.outgoing(event);
    const matching = [...this.destinations.values()].filter((d) => wantsEvent(d, outgoing));
    await this.enqueue(outgoing, matching, { callbackJobId: this.jobId, receivedAt: this.receivedAt });
    for (const d of matching) if (!this.deliveredTo.includes(d.name)) this.deliveredTo.push(d.name);
    return matching.map((d) => d.name);
  }

  /** A handler may change the data (tags); the id stays the event's, so webhook-id and de-duplication hold. */
  private outgoing(event: OutgoingEvent | undefined): RelayEvent {
    return event ? ({ ...event, id: this.event.id } as RelayEvent) : this.event;
  }
}
