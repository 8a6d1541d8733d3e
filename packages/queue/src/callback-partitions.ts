import { createHash } from "node:crypto";
import { CALLBACK_QUEUE } from "./job-catalog.ts";
import { deliveryQueueName } from "./delivery-queues.ts";
import { partitionTags } from "./partition-tags.ts";

/** A queue name of the partitioned layout: `{p3.12}callbacks` → partition 3, base name `callbacks`. */
const PARTITIONED_NAME = /^\{([^{}]+)\}(.+)$/;

/**
 * How the callbacks, the destinations' queues and every key kept per conversation are spread over
 * `CALLBACK_PARTITIONS` partitions. A conversation (a chat for messages, a room for room events)
 * always lands in the same partition, so its callbacks stay in acceptance order and its ordering
 * line, bursts and claims sit beside its queues.
 *
 * One partition is one Redis's layout, untouched: `callbacks`, `deliveries.crm`, `<prefix>:…`.
 * With several, partition p's queues are `{tag}callbacks` and `{tag}deliveries.crm` (BullMQ keys
 * `<prefix>:{tag}callbacks:…`) and its other keys are `<prefix>:{tag}:…`: every key of a partition
 * shares the tag, so a script that reads several of them stays inside one Redis Cluster slot, and
 * different partitions land on different masters (partition-tags.ts).
 */
export class CallbackPartitions {
  readonly count: number;
  private readonly tags: readonly string[];
  private readonly indexOfTag: ReadonlyMap<string, number>;

  constructor(count: number) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`partition count must be a whole number ≥ 1: ${count}`);
    this.count = count;
    this.tags = count === 1 ? [] : partitionTags(count);
    this.indexOfTag = new Map(this.tags.map((tag, index) => [tag, index]));
  }

  /** 0 … count-1. */
  indexes(): number[] {
    return Array.from({ length: this.count }, (_, index) => index);
  }

  /**
   * The partition of a conversation: a stable hash, the same in every app and release. A callback
   * with no conversation (no chat, no room) goes to partition 0.
   */
  of(conversation: string | null): number {
    if (this.count === 1 || conversation === null) return 0;
    return createHash("md5").update(conversation).digest().readUInt32BE(0) % this.count;
  }

  /** The hash tag of a partition, or null in the one-partition layout. */
  tag(partition: number): string | null {
    return this.count === 1 ? null : this.tags[this.check(partition)]!;
  }

  /** A queue's name in a partition: `callbacks`, or `{p3.12}callbacks`. */
  queueName(baseName: string, partition: number): string {
    const tag = this.tag(partition);
    return tag === null ? baseName : `{${tag}}${baseName}`;
  }

  callbackQueueName(partition: number): string {
    return this.queueName(CALLBACK_QUEUE, partition);
  }

  deliveryQueueName(destination: string, partition: number): string {
    return this.queueName(deliveryQueueName(destination), partition);
  }

  /** Every partition's callbacks queue. */
  callbackQueueNames(): string[] {
    return this.indexes().map((p) => this.callbackQueueName(p));
  }

  /**
   * The prefix of a partition's keys outside BullMQ (claims, ordering lines, bursts, records):
   * `yuju`, or `yuju:{p3.12}`. Those keys are `${keyPrefix}:event-claims:…` in both layouts.
   */
  keyPrefix(prefix: string, partition: number): string {
    const tag = this.tag(partition);
    return tag === null ? prefix : `${prefix}:{${tag}}`;
  }

  /**
   * Where the send API keeps its queue and keys (BullMQ's prefix and its own): one place, partition
   * 0's tag, so that its scripts stay in one slot on a cluster. `yuju` with one partition.
   */
  sendsPrefix(prefix: string): string {
    return this.keyPrefix(prefix, 0);
  }

  /** Which partition a queue name belongs to, and its name without the tag; null for a name of another layout. */
  parseQueueName(queueName: string): { partition: number; baseName: string } | null {
    if (this.count === 1) return PARTITIONED_NAME.test(queueName) ? null : { partition: 0, baseName: queueName };
    const match = PARTITIONED_NAME.exec(queueName);
    const partition = match ? this.indexOfTag.get(match[1]!) : undefined;
    return partition === undefined ? null : { partition, baseName: match![2]! };
  }

  private check(partition: number): number {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.count) {
      throw new Error(`no partition ${partition} of ${this.count}`);
    }
    return partition;
  }
}
