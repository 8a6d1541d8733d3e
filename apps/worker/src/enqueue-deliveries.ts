import type { Destination } from "@yuju-relay/config";
import type { RelayEvent } from "@yuju-relay/protocol";
import { createTickBatcher, deliveryJob, type ConversationOrder, type DeliveryJobData } from "@yuju-relay/queue";
import type { Queue } from "bullmq";
import { addInLine, placeInLine } from "./ordered-delivery.ts";

export interface FanOutSource {
  callbackJobId: string;
  receivedAt: string;
  /** A burst's place in its chat's line (DeliveryJobData.burstSeq). */
  burstSeq?: number;
}

export type EnqueueDeliveries = (
  event: RelayEvent,
  destinations: readonly Destination[],
  source: FanOutSource,
) => Promise<void>;

/**
 * Every delivery job is created here: one job per event and destination, in that destination's
 * queue, with an id derived from the event id. A callback job that runs again after its worker died
 * mid-fan-out adds nothing twice: BullMQ ignores an add whose job id exists. An ordered destination's
 * job first takes its turn in its conversation (ordered-delivery.ts).
 *
 * The adds of one turn of the event loop go to each queue as one `addBulk` (one pipeline): a burst of
 * callbacks fanned out to three destinations costs three round trips, not three per callback. A
 * pipeline is not a transaction: a batch that fails half-way fails every callback job in it, and
 * their retries add what is missing.
 */
export function createDeliveryEnqueuer(
  queues: ReadonlyMap<string, Queue<DeliveryJobData>>,
  orders: ReadonlyMap<string, ConversationOrder> = new Map(),
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
  return async (event, destinations, source) => {
    const messageId = event.type === "message.received" ? event.data.messageId : null;
    await Promise.all(
      destinations.map((destination) => {
        const add = addInTurn.get(destination.name);
        if (!add) throw new Error(`destination ${destination.name} has no queue in this worker`);
        const data: DeliveryJobData = { destination: destination.name, event, messageId, ...source };
        const order = orders.get(destination.name);
        const place = order ? placeInLine(destination, data) : null;
        if (order && place) return addInLine(order, add, deliveryJob(data, destination), place.conversation, place.seq);
        return add(deliveryJob(data, destination));
      }),
    );
  };
}
