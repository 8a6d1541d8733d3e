import type { CallbackJobData } from "@yuju-relay/queue";

/**
 * The contract between storing a callback and ingesting it: its own file so that the ingest and
 * the stores (queue, spool) both depend on it rather than on each other.
 */

/** Where a callback was made durable, if anywhere: only then may the ingress answer 200. */
export type StoreOutcome =
  | { stored: "queue"; jobId: string }
  | { stored: "spool" }
  /** unstorable: the callback itself cannot be stored; unavailable: neither Redis nor the spool took it. */
  | { stored: false; reason: "unstorable" | "unavailable"; error: string };

export type StoreCallback = (job: CallbackJobData) => Promise<StoreOutcome>;

/**
 * Stores a callback durably; resolves once Redis has it. Rejects with UnstorableCallbackError for a
 * callback that cannot be stored, with any other error when Redis did not take it.
 */
export type EnqueueCallback = (job: CallbackJobData) => Promise<string>;

/**
 * A callback that cannot be stored because of what it holds, whatever Redis does: its job could
 * not be serialized. Never "Redis unavailable": a retry of the same body would fail the same way.
 */
export class UnstorableCallbackError extends Error {
  override name = "UnstorableCallbackError";
}
