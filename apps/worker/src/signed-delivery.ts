import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { urlToHttpOptions } from "node:url";
import type { RelayEvent } from "@yuju-relay/protocol";
import { UnrecoverableError } from "bullmq";
import { Webhook } from "standardwebhooks";
import { parseRetryAfter, RetryableDeliveryError } from "./delivery-errors.ts";

export interface DeliveryTarget {
  url: string;
  /** `whsec_...` */
  secret: string;
  timeoutMs: number;
  /** Connections kept open to the endpoint: the worker's concurrency is enough. */
  maxSockets?: number;
}

export interface DeliveryResult {
  status: number;
  durationMs: number;
}

interface Answer {
  status: number;
  retryAfter: string | null;
  text: string;
}

/**
 * Delivers an event to the company's endpoint by the Standard Webhooks spec. `webhook-id` is the
 * event's id, the same on every retry and on a platform redelivery, so the receiver can de-duplicate.
 * 2xx is success; 408, 429, 5xx, timeouts and connection errors are retried (Retry-After honoured);
 * any other answer (410 "gone" and redirects included) fails the job at once: retrying a 400 only
 * repeats it. node:http with a keep-alive agent rather than fetch: at a thousand deliveries a second
 * fetch's per-request objects were the worker's largest cost (see docs/performance.md).
 */
export function createSignedDelivery({ url, secret, timeoutMs, maxSockets = 64 }: DeliveryTarget) {
  const signer = new Webhook(secret);
  const target = new URL(url);
  const secure = target.protocol === "https:";
  const send = secure ? httpsRequest : httpRequest;
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets })
    : new HttpAgent({ keepAlive: true, maxSockets });
  const where = safeUrl(target);
  // Parsed once: node:http would turn the URL into these options on every request.
  const requestOptions = { ...urlToHttpOptions(target), method: "POST", agent };

  function post(headers: Record<string, string>, payload: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      // One deadline for the whole exchange, answer body included (destroying the request fails it
      // with this error even when the answer has begun). A plain timer, not AbortSignal.timeout:
      // the signal's event target and stream hooks were about 3.5 % of the worker's CPU profile at
      // a thousand deliveries a second.
      const deadline = setTimeout(() => req.destroy(new DeliveryTimeout()), timeoutMs);
      const settle =
        <T>(finish: (value: T) => void) =>
        (value: T) => {
          clearTimeout(deadline);
          finish(value);
        };
      const req = send({ ...requestOptions, headers }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          // Only the start of the answer goes into an error message; the rest is read and dropped.
          if (size < 200) chunks.push(chunk);
          size += chunk.length;
        });
        res.on("end", () =>
          settle(resolve)({
            status: res.statusCode ?? 0,
            retryAfter: (res.headers["retry-after"] as string | undefined) ?? null,
            text: Buffer.concat(chunks).toString("utf8").slice(0, 200),
          }),
        );
        res.on("error", settle(reject));
      });
      req.on("error", settle(reject));
      req.end(payload);
    });
  }

  return async function deliverEvent(event: RelayEvent, timestamp: string): Promise<DeliveryResult> {
    const payload = JSON.stringify({ type: event.type, timestamp, data: event.data });
    const now = new Date();
    const started = performance.now();
    let answer: Answer;
    try {
      answer = await post(
        {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(payload)),
          "user-agent": "yuju-relay",
          "webhook-id": event.id,
          "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
          "webhook-signature": signer.sign(event.id, now, payload),
        },
        payload,
      );
    } catch (error) {
      const cause = error instanceof DeliveryTimeout ? `no answer within ${timeoutMs}ms` : describeError(error);
      throw new RetryableDeliveryError(`delivery to ${where} failed: ${cause}`);
    }
    const durationMs = Math.round(performance.now() - started);
    const { status, text } = answer;
    if (status >= 200 && status < 300) return { status, durationMs };
    const message = `${where} answered ${status}${text ? `: ${text}` : ""}`;
    if (status === 408 || status === 429 || status >= 500) {
      throw new RetryableDeliveryError(message, parseRetryAfter(answer.retryAfter));
    }
    throw new UnrecoverableError(`${message} (not retried)`);
  };
}

class DeliveryTimeout extends Error {
  override name = "TimeoutError";
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

export type DeliverEvent = ReturnType<typeof createSignedDelivery>;
