import type { RelayEvent } from "@yuju-relay/protocol";
import { UnrecoverableError } from "bullmq";
import { Webhook } from "standardwebhooks";
import { parseRetryAfter, RetryableDeliveryError } from "./delivery-errors.ts";

export interface DeliveryTarget {
  url: string;
  /** `whsec_...` */
  secret: string;
  timeoutMs: number;
}

export interface DeliveryResult {
  status: number;
  durationMs: number;
}

/**
 * Delivers an event to the company's endpoint by the Standard Webhooks spec. `webhook-id` is the
 * event's id, the same on every retry and on a platform redelivery, so the receiver can de-duplicate.
 * 2xx is success; 408, 429, 5xx, timeouts and connection errors are retried (Retry-After honoured);
 * any other answer (410 "gone" included) fails the job at once: retrying a 400 only repeats it.
 */
export function createSignedDelivery({ url, secret, timeoutMs }: DeliveryTarget) {
  const signer = new Webhook(secret);
  return async function deliverEvent(event: RelayEvent, timestamp: string): Promise<DeliveryResult> {
    const payload = JSON.stringify({ type: event.type, timestamp, data: event.data });
    const now = new Date();
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          "content-type": "application/json",
          "user-agent": "yuju-relay",
          "webhook-id": event.id,
          "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
          "webhook-signature": signer.sign(event.id, now, payload),
        },
        body: payload,
      });
    } catch (error) {
      const cause =
        (error as Error).name === "TimeoutError" ? `no answer within ${timeoutMs}ms` : describeFetchError(error);
      throw new RetryableDeliveryError(`delivery to ${safeUrl(url)} failed: ${cause}`);
    }
    // The body is not needed, but reading it frees the socket for reuse.
    const answer = (await response.text().catch(() => "")).slice(0, 200);
    const durationMs = Math.round(performance.now() - started);
    const { status } = response;
    if (status >= 200 && status < 300) return { status, durationMs };
    const message = `${safeUrl(url)} answered ${status}${answer ? `: ${answer}` : ""}`;
    if (status === 408 || status === 429 || status >= 500) {
      throw new RetryableDeliveryError(message, parseRetryAfter(response.headers.get("retry-after")));
    }
    throw new UnrecoverableError(`${message} (not retried)`);
  };
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** URLs may carry credentials (https://user:pass@host): never put those in a job's failed reason. */
function safeUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  parsed.search = "";
  return parsed.toString();
}

export type DeliverEvent = ReturnType<typeof createSignedDelivery>;
