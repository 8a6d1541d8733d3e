import type { Destination } from "@yuju-relay/config";
import type { Logger } from "@yuju-relay/logging";
import {
  isFinalFailure,
  isLastAttempt,
  ORDERED_DELIVERY,
  parkedDeliveryJob,
  type ConversationOrder,
  type DeliveryJobData,
  type deliveryJob,
  type FanOutWatermark,
} from "@yuju-relay/queue";
import { DelayedError, type Job } from "bullmq";
import { acceptanceSeq, conversationOf } from "./conversation-key.ts";

type DeliveryJob = ReturnType<typeof deliveryJob>;

/** Where an ordered destination's delivery goes in its conversation's line: null when it goes unordered. */
export function placeInLine(destination: Destination, data: DeliveryJobData) {
  if (!destination.ordering) return null;
  const conversation = conversationOf(data.event);
  const seq = acceptanceSeq(data.callbackJobId);
  return conversation === null || seq === null ? null : { conversation, seq };
}

/**
 * An ordered destination (`ordering: per-conversation`): the one home of a conversation's turns.
 * A turn starts when the fan-out reserves the event's place (`add`), runs while its delivery job
 * holds the head (`inTurn`), and ends when the delivery succeeds, or fails for good with
 * `onFailure: skip` (in `inTurn`, or `endTurnOfFailed` when BullMQ failed the job by itself).
 * ConversationOrder (in @yuju-relay/queue) is the Redis side: the line and its scripts.
 */
export class OrderedDestination {
  private readonly onFailure: "skip" | "block";

  constructor(
    readonly destination: Destination,
    private readonly order: ConversationOrder,
    private readonly watermark: FanOutWatermark,
    private readonly logger: Logger,
  ) {
    this.onFailure = destination.ordering?.onFailure ?? "skip";
  }

  /**
   * The fan-out side: reserve the event's turn in its conversation first, then add the job,
   * runnable if its turn has come, else parked. Reserving first means a fan-out that fails (or
   * whose worker dies) after the reservation leaves the conversation waiting for it, never skipping
   * it: the callback job's retry adds the job.
   *
   * The turn can come between the reservation and the add (the previous delivery ended and found
   * nothing to promote yet): the turn is read again after the add, and the job promoted if it is due.
   * A head without a job may be one removed by hand: cleared if no callback will add it any more.
   */
  async add(add: (job: DeliveryJob) => Promise<void>, job: DeliveryJob): Promise<"queued" | "waiting" | "taken"> {
    const place = placeInLine(this.destination, job.data);
    if (!place) {
      await add(job);
      return "queued";
    }
    const { conversation, seq } = place;
    const jobId = job.opts.jobId!;
    const reservation = await this.order.reserve(conversation, jobId, seq);
    if (reservation === "taken") return "taken";
    if (reservation === "head") {
      await add(job);
      return "queued";
    }
    await add(parkedDeliveryJob(job));
    if (reservation === "behind-missing") await this.order.clearDeadHead(conversation);
    if (reservation === "rerun" || (await this.order.turn(conversation, jobId)) === "head") {
      await this.order.promote(jobId);
      return "queued";
    }
    return "waiting";
  }

  /**
   * The delivery side: wraps the destination's processor so that a delivery runs only on its turn.
   *   1. every callback accepted before this one has fanned out (the watermark), else wait a moment;
   *   2. it is the head of its conversation, else park it until the one before it ends;
   *   3. deliver; on success, or on a final failure with `onFailure: skip`, end the turn: release it
   *      and promote the next. With `block`, a final failure keeps the turn: the conversation waits
   *      until the failed job is retried (dashboard) and succeeds.
   * The turn ends before the job completes: a worker dying in between makes the job run again as a
   * duplicate (same webhook-id), never leaves its conversation waiting on a finished job.
   *
   * A job no longer in line (a replay of a delivered or skipped event, or a job run again after its
   * turn ended) is delivered as it comes, and ends no turn: it promotes the head only when that head
   * is parked (stranded by a kill between a release and its promote), never cutting short a retrying
   * head's backoff.
   */
  inTurn<Result>(deliver: (job: Job<DeliveryJobData>) => Promise<Result>) {
    return async (job: Job<DeliveryJobData>, token?: string): Promise<Result> => {
      const place = placeInLine(this.destination, job.data);
      if (!place) return deliver(job);
      const { conversation, seq } = place;
      // The barrier first: until older callbacks have fanned out, an older event of this
      // conversation may still be on its way to the head of the line.
      if (!(await this.watermark.passed(seq, ORDERED_DELIVERY.fanOutWaitMs))) {
        await job.moveToDelayed(Date.now() + ORDERED_DELIVERY.fanOutRecheckMs, token);
        throw new DelayedError();
      }
      const turn = await this.order.turn(conversation, job.id!);
      if (turn === "behind") return this.park(job, token, conversation);
      if (turn === "absent") {
        if (this.logger.isLevelEnabled("debug")) {
          this.logger.debug(
            { destination: this.destination.name, jobId: job.id },
            "ordered delivery no longer in line: delivered as it comes",
          );
        }
        try {
          return await deliver(job);
        } finally {
          // A job run again after its worker died between its turn's release and the promote of
          // the next: that head is parked for good unless promoted here. Only a parked head is.
          await this.order.promoteStrandedHead(conversation);
        }
      }
      let result: Result;
      try {
        result = await deliver(job);
      } catch (error) {
        if (this.onFailure === "skip" && isLastAttempt(job, error as Error)) {
          await this.order.pass(conversation, job.id!);
        }
        throw error;
      }
      await this.order.pass(conversation, job.id!);
      return result;
    };
  }

  /**
   * BullMQ fails a job by itself when it stalled more often than allowed (its workers kept dying): no
   * processor runs to end its turn. With `skip`, the worker's `failed` listener ends it here.
   */
  async endTurnOfFailed(job: Job<DeliveryJobData>, error: Error): Promise<void> {
    if (this.onFailure !== "skip" || !isFinalFailure(job, error)) return;
    const place = placeInLine(this.destination, job.data);
    if (place) await this.order.pass(place.conversation, job.id!);
  }

  private async park(job: Job<DeliveryJobData>, token: string | undefined, conversation: string): Promise<never> {
    await job.moveToDelayed(Date.now() + ORDERED_DELIVERY.parkedForMs, token);
    // The turn before may have ended while this job was running, promoting nothing.
    if ((await this.order.turn(conversation, job.id!)) === "head") await this.order.promote(job.id!);
    throw new DelayedError();
  }
}
