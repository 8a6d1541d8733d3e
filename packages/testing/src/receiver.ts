import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  raw: string;
  body: { type: string; timestamp: string; data: Record<string, unknown> };
  status: number;
}

export interface Receiver {
  url: string;
  deliveries: ReceivedDelivery[];
  /** Answers the next requests with these statuses (then 200s): a scripted flaky downstream. */
  respondWith(...statuses: number[]): void;
  /** Requests received so far, answered or not (a slow downstream holds them `delayMs`). */
  started: number;
  delayMs: number;
  close(): Promise<void>;
}

/** A local downstream for the worker's signed deliveries; it records every attempt. */
export async function startReceiver(): Promise<Receiver> {
  const deliveries: ReceivedDelivery[] = [];
  const receiver = { started: 0, delayMs: 0 } as Receiver;
  const script: number[] = [];
  const server = createServer((req, res) => {
    receiver.started += 1;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const status = script.shift() ?? 200;
      setTimeout(() => {
        deliveries.push({ headers: req.headers, raw, body: JSON.parse(raw) as ReceivedDelivery["body"], status });
        res.writeHead(status, { "content-type": "application/json" }).end("{}");
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
