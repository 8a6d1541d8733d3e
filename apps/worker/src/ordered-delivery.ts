import type { Destination } from "@yuju-relay/config";
import type { Logger } from "@yuju-relay/logging";
import type { deliveryJob } from "@yuju-relay/queue";
import {
  isFinalFailure,
  isLastAttempt,
  ORDERED_DELIVERY,
  parkedDeliveryJob,
  type ConversationOrder,
  type DeliveryJobData,
  type FanOutWatermark,
} from "@yuju-relay/queue";
import { DelayedError, type Job } from "bullmq";
import { acceptanceSeq, conversationOf } from "./conversation-key.ts";

type DeliveryJob = ReturnType<typeof deliveryJob>;

/**
 * The fan-out side of an ordered destination: reserve the event's turn in its conversation first,
 * then add the job, runnable if its turn has come, else parked. Reserving first means a fan-out
 * that fails (or whose worker dies) after the reservation leaves the conversation waiting for it,
 * never skipping it: the callback job's retry adds the job.
 *
 * The turn can come between the reservation and the add (the previous delivery ended and found
 * nothing to promote yet): the turn is read again after the add, and the job promoted if it is due.
 * A head without a job may be one removed by hand: cleared if no callback will add it any more.
 */
export async function addInLine(
  order: ConversationOrder,
  add: (job: DeliveryJob) => Promise<void>,
  job: DeliveryJob,
  conversation: string,
  seq: number,
): Promise<void> {
  const jobId = job.opts.jobId!;
  const reservation = await order.reserve(conversation, jobId, seq);
  if (reservation === "taken") return;
  if (reservation === "head") return add(job);
  await add(parkedDeliveryJob(job));
  if (reservation === "behind-missing") await order.clearDeadHead(conversation);
  if (reservation === "rerun" || (await order.turn(conversation, jobId)) === "head") await order.promote(jobId);
}

/** Where an ordered destination's enqueue needs to place a job: null when it goes unordered. */
export function placeInLine(destination: Destination, data: DeliveryJobData) {
  if (!destination.ordering) return null;
  const conversation = conversationOf(data.event);
  const seq = data.burstSeq ?? acceptanceSeq(data.callbackJobId);
  return conversation === null || seq === null ? null : { conversation, seq, burst: data.burstSeq !== undefined };
}

/**
 * The delivery side: wraps a destination's processor so that a delivery runs only on its turn.
 *   1. every callback accepted before this one has fanned out (the watermark), else wait a moment;
 *   2. it is the head of its conversation, else park it until the one before it ends;
 *   3. deliver; on success, or on a final failure with `onFailure: skip`, end the turn: release it
 *      and promote the next. With `block`, a final failure keeps the turn: the conversation waits
 *      until the failed job is retried (dashboard) and succeeds.
 * The turn ends before the job completes: a worker dying in between makes the job run again as a
 * duplicate (same webhook-id), never leaves its conversation waiting on a finished job.
 *
 * A job no longer in line (a replay of a delivered or skipped event) is delivered as it comes.
 */
export function inConversationOrder<Result>(
  deliver: (job: Job<DeliveryJobData>) => Promise<Result>,
  deps: { destination: Destination; order: ConversationOrder; watermark: FanOutWatermark; logger: Logger },
) {
  const { destination, order, watermark, logger } = deps;
  const onFailure = destination.ordering?.onFailure ?? "skip";

  async function park(job: Job<DeliveryJobData>, token: string | undefined, conversation: string): Promise<never> {
    await job.moveToDelayed(Date.now() + ORDERED_DELIVERY.parkedForMs, token);
    // The turn before may have ended while this job was running, promoting nothing.
    if ((await order.turn(conversation, job.id!)) === "head") await order.promote(job.id!);
    throw new DelayedError();
  }

  return async function deliverInTurn(job: Job<DeliveryJobData>, token?: string): Promise<Result> {
    const place = placeInLine(destination, job.data);
    if (!place) return deliver(job);
    const { conversation, seq } = place;
    // The barrier first: until older callbacks have fanned out, an older event of this
    // conversation may still be on its way to the head of the line. A burst is numbered in its
    // chat when it closes, after its messages' fan-out: no barrier to wait for.
    if (!place.burst && !(await watermark.passed(seq, ORDERED_DELIVERY.fanOutWaitMs))) {
      await job.moveToDelayed(Date.now() + ORDERED_DELIVERY.fanOutRecheckMs, token);
      throw new DelayedError();
    }
    const turn = await order.turn(conversation, job.id!);
    if (turn === "behind") return park(job, token, conversation);
    if (turn === "absent" && logger.isLevelEnabled("debug")) {
      logger.debug(
        { destination: destination.name, jobId: job.id },
        "ordered delivery no longer in line: delivered as it comes",
      );
    }
    let result: Result;
    try {
      result = await deliver(job);
    } catch (error) {
      if (turn === "absent" || (onFailure === "skip" && isLastAttempt(job, error as Error))) {
        await order.pass(conversation, job.id!);
      }
      throw error;
    }
    await order.pass(conversation, job.id!);
    return result;
  };
}

/**
 * BullMQ fails a job by itself when it stalled more often than allowed (its workers kept dying): no
 * processor runs to end its turn. With `skip`, the worker's `failed` listener ends it.
 */
export async function endTurnOfFailed(
  destination: Destination,
  order: ConversationOrder,
  job: Job<DeliveryJobData>,
  error: Error,
): Promise<void> {
  if (destination.ordering?.onFailure !== "skip" || !isFinalFailure(job, error)) return;
  const place = placeInLine(destination, job.data);
  if (place) await order.pass(place.conversation, job.id!);
}
