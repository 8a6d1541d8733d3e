import type { Destination } from "@yuju-relay/config";
import type { RelayEvent } from "@yuju-relay/protocol";
import { createTickBatcher, deliveryJob, type DeliveryJobData } from "@yuju-relay/queue";
import type { Queue } from "bullmq";
import type { OrderedDestination } from "./ordered-delivery.ts";

export interface FanOutSource {
  callbackJobId: string;
  receivedAt: string;
}

/** One delivery handed to its destination's queue, and what the inline attempt before it (if any) left. */
export interface Handover {
  destination: Destination;
  /** 1 after a failed inline attempt: the job has one attempt fewer. */
  priorAttempts?: number;
  /** The backoff after that attempt: the job starts this much later. */
  delayMs?: number;
  /** The inline attempt's final failure: the job fails with it without sending again (see DeliveryJobData). */
  failedInline?: string;
}

/** Where the handed-over delivery now stands: runnable (`queued`), parked behind its conversation (`waiting`), or already taken. */
export type HandoverState = "queued" | "waiting" | "taken";

export type EnqueueDeliveries = (
  event: RelayEvent,
  handovers: readonly Handover[],
  source: FanOutSource,
) => Promise<HandoverState[]>;

/**
 * Every delivery job is created here: one job per event and destination, in that destination's
 * queue, with an id derived from the event id. A callback job that runs again after its worker died
 * mid-fan-out adds nothing twice: BullMQ ignores an add whose job id exists. An ordered destination's
 * job first takes its place in its conversation's line (ordered-delivery.ts).
 *
 * The adds of one turn of the event loop go to each queue as one `addBulk` (one pipeline): a burst of
 * callbacks handed to three destinations costs three round trips, not three per callback. A
 * pipeline is not a transaction: a batch that fails half-way fails every callback job in it, and
 * their retries add what is missing.
 */
export function createDeliveryEnqueuer(
  queues: ReadonlyMap<string, Queue<DeliveryJobData>>,
  ordered: ReadonlyMap<string, OrderedDestination> = new Map(),
): EnqueueDeliveries {
  const addInTurn = new Map<string, (job: ReturnType<typeof deliveryJob>) => Promise<void>>();
  for (const [name, queue] of queues) {
    addInTurn.set(
      name,
      createTickBatcher(
        async (jobs: Array<ReturnType<typeof deliveryJob>>) => {
          await queue.addBulk(jobs);
          return jobs.map(() => undefined);
        },
        { maxBatch: 64 },
      ),
    );
  }
  return async (event, handovers, source) => {
    const messageId = event.type === "message.received" ? event.data.messageId : null;
    return Promise.all(
      handovers.map(async ({ destination, priorAttempts, delayMs, failedInline }): Promise<HandoverState> => {
        const add = addInTurn.get(destination.name);
        if (!add) throw new Error(`destination ${destination.name} has no queue in this worker`);
        const data: DeliveryJobData = { destination: destination.name, event, messageId, ...source };
        if (priorAttempts) data.priorAttempts = priorAttempts;
        if (failedInline) data.failedInline = failedInline;
        const job = deliveryJob(data, destination, delayMs);
        const inLine = ordered.get(destination.name);
        if (inLine) return inLine.add(add, job);
        await add(job);
        return "queued";
      }),
    );
  };
}
