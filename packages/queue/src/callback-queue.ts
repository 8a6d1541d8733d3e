import { callbackLabel, type CallbackKind } from "@yuju-relay/protocol";
import { Queue, type JobsOptions } from "bullmq";
import type { RedisClient } from "./connections.ts";

/**
 * Every callback, of whatever kind, goes through this one queue. The kind is `job.data.kind`; the
 * job name is for people (see callbackJobName).
 */
export const CALLBACK_QUEUE = "callbacks";

/** The name of the worker's backoff strategy (exponential with jitter, or the downstream's Retry-After). */
export const RELAY_BACKOFF = "relay";

/** What the ingress stores for a callback. The tenant's token has been removed from `body`. */
export interface CallbackJobData {
  kind: CallbackKind;
  /** The path and method the platform called, for the record: the kind comes from the body. */
  route: string;
  method: string;
  receivedAt: string;
  body: unknown;
}

/**
 * The job catalog: what each kind of callback job is and how it is retried. Invalid bodies fail
 * at once in the worker (UnrecoverableError) whatever `attempts` says, so retries only ever
 * apply to delivery.
 */
export const CALLBACK_JOBS: Record<CallbackKind, { description: string; retried: boolean }> = {
  message: { description: "message callback (/notice)", retried: true },
  room_members: { description: "group member left or joined", retried: true },
  unclassified: { description: "a body of no known kind: fails visibly, kept for replay", retried: false },
};

export function callbackJobOptions(kind: CallbackKind, attempts: number): JobsOptions {
  return CALLBACK_JOBS[kind].retried ? { attempts, backoff: { type: RELAY_BACKOFF } } : { attempts: 1 };
}

/**
 * The job's name as Bull Board lists it: its kind and what it is about, `message m-1` or
 * `room_members left 10696052718820451`, so that one message's job can be found by searching
 * for its id. Only for display: code reads the kind from `job.data.kind`.
 */
export function callbackJobName(job: Pick<CallbackJobData, "kind" | "body">): string {
  const label = callbackLabel(job.kind, job.body);
  return label ? `${job.kind} ${label}` : job.kind;
}

export function createCallbackQueue(connection: RedisClient, prefix: string): Queue<CallbackJobData> {
  return new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection, prefix });
}
