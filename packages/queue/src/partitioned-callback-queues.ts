import { callbackConversation } from "@yuju-relay/protocol";
import { Queue, type JobsOptions } from "bullmq";
import type { CallbackPartitions } from "./callback-partitions.ts";
import type { RedisClient } from "./connections.ts";
import type { CallbackJobData } from "./job-catalog.ts";

export interface CallbackJobToAdd {
  name: string;
  data: CallbackJobData;
  opts?: JobsOptions;
}

/**
 * Where the ingress and its spool drain store callbacks: each in its conversation's partition's
 * callbacks queue (one queue, `callbacks`, with one partition). A batch is split by partition and
 * each part goes with one `addBulk`, all parts at once; the answer keeps the batch's order.
 */
export class PartitionedCallbackQueues {
  readonly queues: ReadonlyArray<Queue<CallbackJobData>>;

  constructor(
    connection: RedisClient,
    prefix: string,
    readonly partitions: CallbackPartitions,
  ) {
    this.queues = partitions
      .indexes()
      .map((p) => new Queue<CallbackJobData>(partitions.callbackQueueName(p), { connection, prefix }));
  }

  partitionOf(data: Pick<CallbackJobData, "kind" | "body">): number {
    return this.partitions.of(callbackConversation(data.kind, data.body));
  }

  /** Stores the jobs; each answer is its job's id in its partition's queue, in the batch's order. */
  async addBulk(jobs: readonly CallbackJobToAdd[]): Promise<Array<{ id?: string | undefined }>> {
    if (this.queues.length === 1) return this.queues[0]!.addBulk(jobs as CallbackJobToAdd[]);
    const parts = new Map<number, number[]>();
    jobs.forEach((job, i) => {
      const p = this.partitionOf(job.data);
      const part = parts.get(p);
      if (part) part.push(i);
      else parts.set(p, [i]);
    });
    const answers = new Array<{ id?: string | undefined }>(jobs.length);
    await Promise.all(
      [...parts].map(async ([p, indexes]) => {
        const added = await this.queues[p]!.addBulk(indexes.map((i) => jobs[i]!));
        added.forEach((job, k) => (answers[indexes[k]!] = job));
      }),
    );
    return answers;
  }

  on(event: "error", listener: (error: Error) => void): void {
    for (const queue of this.queues) queue.on(event, listener);
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
