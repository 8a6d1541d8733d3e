import { hash, timingSafeEqual } from "node:crypto";
import { callbackToken, classifyCallback, removeCallbackToken } from "@yuju-relay/protocol";
import type { CallbackJobData } from "@yuju-relay/queue";

/** What became of one callback; the HTTP layer only maps this to a status. */
export type IngestOutcome =
  | { outcome: "accepted"; jobId: string; kind: CallbackJobData["kind"] }
  | { outcome: "malformed"; error: string }
  | { outcome: "unauthorized" }
  | { outcome: "unavailable"; error: string };

/** Stores a callback durably; resolves once Redis has it, rejects otherwise. */
export type EnqueueCallback = (job: CallbackJobData) => Promise<string>;

// One-shot hashing: no Hash object per callback (it runs on every request).
const digest = (value: string) => hash("sha256", value, "buffer");

/** Hashing first makes the comparison constant-time whatever the lengths. */
export function tokenMatches(expected: Buffer, received: string | null): boolean {
  return received !== null && timingSafeEqual(expected, digest(received));
}

export interface IngestDeps {
  /** sha256 of CALLBACK_TOKEN, or null to accept any body (local trials). */
  expectedTokenDigest: Buffer | null;
  enqueue: EnqueueCallback;
}

export function createIngest({ expectedTokenDigest, enqueue }: IngestDeps) {
  return async function ingestCallback(text: string, route: string, method: string): Promise<IngestOutcome> {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      return { outcome: "malformed", error: `body is not JSON: ${(error as Error).message}` };
    }
    if (expectedTokenDigest && !tokenMatches(expectedTokenDigest, callbackToken(body))) {
      return { outcome: "unauthorized" };
    }
    // Well-formed JSON of the wrong shape is still queued: the worker fails it visibly, with its
    // reason, where it can be read and replayed. Rejecting it here would lose it.
    removeCallbackToken(body);
    const kind = classifyCallback(body);
    try {
      const jobId = await enqueue({ kind, route, method, receivedAt: new Date().toISOString(), body });
      return { outcome: "accepted", jobId, kind };
    } catch (error) {
      return { outcome: "unavailable", error: (error as Error).message };
    }
  };
}
export { digest as tokenDigest };
