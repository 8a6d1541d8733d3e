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
  close(): Promise<void>;
}

/** A local downstream for the worker's signed deliveries; it records every attempt. */
export async function startReceiver(): Promise<Receiver> {
  const deliveries: ReceivedDelivery[] = [];
  const script: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const status = script.shift() ?? 200;
      deliveries.push({ headers: req.headers, raw, body: JSON.parse(raw) as ReceivedDelivery["body"], status });
      res.writeHead(status, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    deliveries,
    respondWith: (...statuses) => script.push(...statuses),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
