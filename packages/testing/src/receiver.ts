import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { WebhookEnvelope } from "@yuju-relay/protocol";

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  raw: string;
  body: WebhookEnvelope;
  status: number;
  /** When it arrived (Date.now()). */
  at: number;
  /** performance.now() when the request arrived, and when it was answered. */
  startedAt: number;
  answeredAt: number;
}

export interface Receiver {
  url: string;
  deliveries: ReceivedDelivery[];
  /** Answers the next requests with these statuses (then `status`): a scripted flaky downstream. */
  respondWith(...statuses: number[]): void;
  /** What it answers once the script is spent: 200 unless set (503: an outage). */
  status: number;
  /** When set, decides the answer once the script is spent instead of `status`: a downstream that fails by rule or at random. */
  answer: ((body: WebhookEnvelope) => number) | null;
  /** Sent as Retry-After with every answer that is not 2xx, when set. */
  retryAfter: string | null;
  /** Requests received so far, answered or not (a slow downstream holds them `delayMs`). */
  started: number;
  delayMs: number;
  close(): Promise<void>;
}

/** A local downstream for the worker's signed deliveries; it records every attempt. */
export async function startReceiver(): Promise<Receiver> {
  const deliveries: ReceivedDelivery[] = [];
  const receiver = { started: 0, delayMs: 0, status: 200, answer: null, retryAfter: null } as Receiver;
  const script: number[] = [];
  const server = createServer((req, res) => {
    receiver.started += 1;
    const startedAt = performance.now();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const at = Date.now();
      const body = JSON.parse(raw) as WebhookEnvelope;
      const status = script.shift() ?? receiver.answer?.(body) ?? receiver.status;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (receiver.retryAfter && (status < 200 || status >= 300)) headers["retry-after"] = receiver.retryAfter;
      setTimeout(() => {
        deliveries.push({ headers: req.headers, raw, body, status, at, startedAt, answeredAt: performance.now() });
        res.writeHead(status, headers).end("{}");
      }, receiver.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/events`,
    deliveries,
    respondWith: (...statuses: number[]) => script.push(...statuses),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return receiver;
}
