import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { StringDecoder } from "node:string_decoder";
import { urlToHttpOptions } from "node:url";
import { toEnvelope, type RelayEvent } from "@yuju-relay/protocol";
import { answerPolicy } from "@yuju-relay/queue";
import {
  DeliveryRefused,
  DestinationGone,
  DestinationRateLimited,
  errorClassOf,
  parseRetryAfter,
  RetryableDeliveryError,
  type AttemptFacts,
} from "./delivery-errors.ts";
import { createWebhookSigner, type SigningKeys } from "./webhook-signer.ts";

/** Where and how to deliver; `secret`, `signing` and `previousSecrets` are the destination's keys. */
export interface DeliveryTarget extends SigningKeys {
  url: string;
  timeoutMs: number;
  /** Connections kept open to the endpoint: the worker's concurrency is enough. */
  maxSockets?: number;
}

export interface DeliveryResult {
  status: number;
  durationMs: number;
  /** The attempt as data (event-record.ts). */
  facts: AttemptFacts;
}

interface Answer {
  status: number;
  retryAfter: string | null;
  /** A redirect's target: never followed, only reported. */
  location: string | null;
  text: string;
}

/**
 * Delivers an event to one destination by the Standard Webhooks spec, signed with that
 * destination's secret. `webhook-id` is the event's id, the same on every retry and on a platform
 * redelivery, so the receiver can de-duplicate. What each answer means is the job catalog's
 * `answerPolicy`; timeouts and connection errors are retried. Each result and each error carries the
 * attempt as data (`facts`: status or error class, Retry-After, the answer's first KB), never only a
 * sentence. node:http with a keep-alive agent rather than fetch: at a thousand deliveries a second
 * fetch's per-request objects were the worker's largest cost (see docs/performance.md).
 */
export function createSignedDelivery({ url, timeoutMs, maxSockets = 64, ...keys }: DeliveryTarget) {
  const sign = createWebhookSigner(keys);
  const target = new URL(url);
  const secure = target.protocol === "https:";
  const send = secure ? httpsRequest : httpRequest;
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets })
    : new HttpAgent({ keepAlive: true, maxSockets });
  const where = safeUrl(target);
  // Parsed once: node:http would turn the URL into these options on every request.
  const requestOptions = { ...urlToHttpOptions(target), method: "POST", agent };

  function post(headers: Record<string, string>, payload: string, timeoutMs: number): Promise<Answer> {
    return new Promise((resolve, reject) => {
      // Set once the request exists (below); the answer's handlers clear it.
      let deadline: NodeJS.Timeout | undefined = undefined;
      const settle =
        <T>(finish: (value: T) => void) =>
        (value: T) => {
          clearTimeout(deadline);
          finish(value);
        };
      let req: ReturnType<typeof send>;
      try {
        req = send({ ...requestOptions, headers }, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            // Only the start of the answer goes into an error message; the rest is read and dropped.
            if (size < ANSWER_EXCERPT_BYTES) chunks.push(chunk);
            size += chunk.length;
          });
          res.on("end", () =>
            settle(resolve)({
              status: res.statusCode ?? 0,
              retryAfter: (res.headers["retry-after"] as string | undefined) ?? null,
              location: res.headers.location ?? null,
              text: answerExcerpt(Buffer.concat(chunks)),
            }),
          );
          res.on("error", settle(reject));
        });
      } catch (error) {
        // node:http validates the request (headers, path) synchronously: nothing was sent, and
        // sending it again cannot succeed.
        reject(new InvalidDeliveryRequest((error as Error).message));
        return;
      }
      // One deadline for the whole exchange, answer body included (destroying the request fails it
      // with this error even when the answer has begun). Set only once the request exists. A plain
      // timer, not AbortSignal.timeout: the signal's event target and stream hooks were about 3.5 %
      // of the worker's CPU profile at a thousand deliveries a second.
      deadline = setTimeout(() => req.destroy(new DeliveryTimeout()), timeoutMs);
      req.on("error", settle(reject));
      req.end(payload);
    });
  }

  /**
   * One attempt. `attemptTimeoutMs` shortens the destination's timeout: an inline attempt waits
   * only INLINE_TIMEOUT before it hands the delivery to the destination's queue.
   */
  return async function deliverEvent(
    event: RelayEvent,
    timestamp: string,
    webhookId: string = event.id,
    attemptTimeoutMs: number = timeoutMs,
  ): Promise<DeliveryResult> {
    const now = new Date();
    const started = performance.now();
    const facts = (answer: Partial<AttemptFacts>): AttemptFacts => ({
      at: now.toISOString(),
      durationMs: Math.round(performance.now() - started),
      status: null,
      error: null,
      retryAfterMs: null,
      responseExcerpt: null,
      location: null,
      ...answer,
    });
    let payload: string;
    try {
      payload = JSON.stringify(toEnvelope(event, timestamp));
    } catch (error) {
      // The ingress refuses bodies nested too deep to serialize; a job stored by other means might not be.
      throw new DeliveryRefused(
        `event cannot be serialized: ${describeError(error)} (not retried)`,
        facts({ error: "other" }),
      );
    }
    let answer: Answer;
    try {
      answer = await post(
        {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(payload)),
          "user-agent": "yuju-relay",
          "webhook-id": webhookId,
          "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
          "webhook-signature": sign(webhookId, now, payload),
        },
        payload,
        Math.min(timeoutMs, attemptTimeoutMs),
      );
    } catch (error) {
      if (error instanceof InvalidDeliveryRequest) {
        throw new DeliveryRefused(
          `delivery to ${where} cannot be sent: ${error.message} (not retried)`,
          facts({ error: "other" }),
        );
      }
      const waited = Math.min(timeoutMs, attemptTimeoutMs);
      const cause = error instanceof DeliveryTimeout ? `no answer within ${waited}ms` : describeError(error);
      throw new RetryableDeliveryError(
        `delivery to ${where} failed: ${cause}`,
        undefined,
        facts({ error: errorClassOf(error) }),
      );
    }
    const { status, text } = answer;
    const retryAfterMs = parseRetryAfter(answer.retryAfter);
    const answered = facts({
      status,
      retryAfterMs: retryAfterMs ?? null,
      responseExcerpt: text || null,
      location: status >= 300 && status < 400 ? redirectTarget(answer.location, target) : null,
    });
    const policy = answerPolicy(status);
    if (policy === "delivered") return { status, durationMs: answered.durationMs, facts: answered };
    const message = `${where} answered ${status}${text ? `: ${text}` : ""}`;
    switch (policy) {
      case "rate_limited":
        if (retryAfterMs !== undefined) throw new DestinationRateLimited(message, retryAfterMs, answered);
        throw new RetryableDeliveryError(message, undefined, answered);
      case "retry":
        throw new RetryableDeliveryError(message, retryAfterMs, answered);
      case "gone":
        throw new DestinationGone(message, answered);
      case "refused":
        // node:http never follows a redirect, and neither does the relay: the signed event would go
        // to an address nobody configured. Like a 4xx, it fails; the reason names where it pointed.
        if (status >= 300 && status < 400) {
          const location = redirectTarget(answer.location, target);
          throw new DeliveryRefused(
            `${where} answered ${status} redirecting to ${location ?? "(no Location)"}: redirects are not followed (not retried)`,
            { ...answered, location },
          );
        }
        throw new DeliveryRefused(`${message} (not retried)`, answered);
    }
  };
}

class DeliveryTimeout extends Error {
  override name = "TimeoutError";
}

class InvalidDeliveryRequest extends Error {
  override name = "InvalidDeliveryRequest";
}

/**
 * How much of an endpoint's answer is kept (in the attempt's record, the failed job's reason and
 * the log): enough for a sentence such as `{"error":"customer id missing in CRM"}` or the start of
 * an error page, not a whole one.
 */
export const ANSWER_EXCERPT_BYTES = 1024;

/** The first ANSWER_EXCERPT_BYTES of an answer as text, cut on a character boundary. */
function answerExcerpt(answer: Buffer): string {
  // The decoder holds back a character whose bytes are cut off, instead of emitting U+FFFD.
  return new StringDecoder("utf8").write(answer.subarray(0, ANSWER_EXCERPT_BYTES)).trim();
}

function describeError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  return code ?? message ?? String(error);
}

/** URLs may carry credentials (https://user:pass@host): never put those in a job's failed reason. */
function safeUrl(url: URL): string {
  const copy = new URL(url);
  copy.username = "";
  copy.password = "";
  copy.search = "";
  return copy.toString();
}

/**
 * A redirect's Location, resolved against the destination's URL and without credentials or query:
 * an http-to-https redirect repeats the destination's URL, with whatever token its query holds.
 */
function redirectTarget(location: string | null, base: URL): string | null {
  if (!location) return null;
  try {
    return safeUrl(new URL(location, base));
  } catch {
    return "(an invalid Location)";
  }
}

export type DeliverEvent = ReturnType<typeof createSignedDelivery>;
