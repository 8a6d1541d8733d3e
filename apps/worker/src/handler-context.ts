import type { Destination } from "@yuju-relay/config";
import type { HandlerContext, OutgoingEvent } from "@yuju-relay/handlers";
import type { Logger } from "@yuju-relay/logging";
import type { RelayEvent } from "@yuju-relay/protocol";
import type { DestinationStatus, EventSummary } from "@yuju-relay/queue";
import { wantsEvent } from "./destination-filter.ts";
import type { FanOutSource } from "./enqueue-deliveries.ts";
import { eventSubject } from "./event-subject.ts";
import type { FanOut } from "./fan-out.ts";

/**
 * What a code handler gets besides its event. Its `deliver` takes the fan-out's path (fan-out.ts):
 * an inline first attempt when the destination allows it, else its queue; either way recorded
 * before `deliver` returns, so that a handler whose worker dies after it does not send it twice.
 *
 * A class, not an object literal with a getter: the getter's closure kept each job's objects alive
 * past the next young-generation GC, which made the worker promote them and collect them again in
 * the old generation (docs/performance.md).
 */
export class JobContext implements HandlerContext {
  private childLogger: Logger | undefined;
  private recorded = false;
  /** The destinations this job delivered or queued the event for, in order: the callback job's result. */
  readonly deliveredTo: string[] = [];
  /** Of those, the ones delivered inline, and the ones handed to their queue. */
  readonly deliveredInline: string[] = [];
  readonly queued: string[] = [];

  constructor(
    private readonly baseLogger: Logger,
    private readonly event: RelayEvent,
    private readonly destinations: ReadonlyMap<string, Destination>,
    private readonly fanOut: FanOut,
    private readonly source: FanOutSource,
    private readonly summary: EventSummary,
    private readonly previous: Readonly<Record<string, DestinationStatus>> | null,
    readonly attempt: number,
  ) {}

  get jobId(): string {
    return this.source.callbackJobId;
  }

  get receivedAt(): string {
    return this.source.receivedAt;
  }

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
    await this.dispatch(this.outgoing(event), [destination]);
  }

  async deliverToMatching(event?: OutgoingEvent): Promise<string[]> {
    const outgoing = this.outgoing(event);
    const matching = [...this.destinations.values()].filter((d) => wantsEvent(d, outgoing));
    await this.dispatch(outgoing, matching);
    return matching.map((d) => d.name);
  }

  /** A handler that delivered nothing still leaves the event's summary in the record. */
  async recordIfUntouched(): Promise<void> {
    if (!this.recorded) await this.dispatch(this.event, []);
  }

  private async dispatch(event: RelayEvent, destinations: Destination[]) {
    // A destination delivered to once by this job is not sent the event again.
    const wanted = destinations.filter((d) => !this.deliveredTo.includes(d.name));
    const result = await this.fanOut({
      event,
      wanted,
      source: this.source,
      summary: this.summary,
      previous: this.previous,
    });
    this.recorded = true;
    for (const d of wanted) if (!this.deliveredTo.includes(d.name)) this.deliveredTo.push(d.name);
    for (const name of result.delivered) if (!this.deliveredInline.includes(name)) this.deliveredInline.push(name);
    for (const name of result.queued) if (!this.queued.includes(name)) this.queued.push(name);
  }

  /** A handler may change the data (tags); the id stays the event's, so webhook-id and de-duplication hold. */
  private outgoing(event: OutgoingEvent | undefined): RelayEvent {
    return event ? ({ ...event, id: this.event.id } as RelayEvent) : this.event;
  }
}
