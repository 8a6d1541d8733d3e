import { callbackToken, classifyCallback, parseCallbackJson, removeCallbackToken } from "@yuju-relay/protocol";
import type { CallbackJobData } from "@yuju-relay/queue";
import type { StoreCallback } from "./callback-store.ts";
import type { CallbackTokens } from "./callback-tokens.ts";

/** What became of one callback; the HTTP layer only maps this to a status. */
export type IngestOutcome =
  | { outcome: "accepted"; jobId: string; kind: CallbackJobData["kind"]; body: unknown }
  /** Redis could not take it: it is on disk, and goes to the queue once Redis is back. */
  | { outcome: "spooled"; kind: CallbackJobData["kind"]; body: unknown }
  | { outcome: "malformed"; error: string }
  | { outcome: "too_deep"; error: string }
  | { outcome: "unauthorized" }
  | { outcome: "unstorable"; error: string }
  | { outcome: "unavailable"; error: string };

/**
 * A callback that cannot be stored because of what it holds, whatever Redis does: its job could
 * not be serialized. Never "Redis unavailable": a retry of the same body would fail the same way.
 */
export class UnstorableCallbackError extends Error {
  override name = "UnstorableCallbackError";
}

/**
 * Stores a callback durably; resolves once Redis has it. Rejects with UnstorableCallbackError for a
 * callback that cannot be stored, with any other error when Redis did not take it.
 */
export type EnqueueCallback = (job: CallbackJobData) => Promise<string>;

export interface IngestDeps {
  /** CALLBACK_TOKEN's tokens, or null to accept any body (local trials). */
  tokens: CallbackTokens | null;
  /** Called with the position (0-based) in CALLBACK_TOKEN of each matching token (a metric). */
  onTokenMatch?: (position: number) => void;
  store: StoreCallback;
}

export function createIngest({ tokens, onTokenMatch = () => {}, store }: IngestDeps) {
  return async function ingestCallback(text: string, route: string, method: string): Promise<IngestOutcome> {
    const parsed = parseCallbackJson(text);
    if (!parsed.ok) return { outcome: parsed.problem, error: parsed.error };
    const { body } = parsed;
    if (tokens) {
      const position = tokens.match(callbackToken(body));
      if (position < 0) return { outcome: "unauthorized" };
      onTokenMatch(position);
    }
    // Well-formed JSON of the wrong shape is still queued: the worker fails it visibly, with its
    // reason, where it can be read and replayed. Rejecting it here would lose it.
    removeCallbackToken(body);
    const kind = classifyCallback(body);
    const stored = await store({ kind, route, method, receivedAt: new Date().toISOString(), body });
    switch (stored.stored) {
      case "queue":
        return { outcome: "accepted", jobId: stored.jobId, kind, body };
      case "spool":
        return { outcome: "spooled", kind, body };
      default:
        return { outcome: stored.reason, error: stored.error };
    }
  };
}
