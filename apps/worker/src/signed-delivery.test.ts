import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RelayEvent } from "@yuju-relay/protocol";
import { freePort } from "@yuju-relay/testing";
import { UnrecoverableError } from "bullmq";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DestinationGone, DestinationRateLimited, RetryableDeliveryError } from "./delivery-errors.ts";
import { createSignedDelivery } from "./signed-delivery.ts";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

const event = { id: "msg_1", type: "message.received", data: { messageId: "1" } } as unknown as RelayEvent;

describe("signed delivery against a real HTTP endpoint", () => {
  let server: Server;
  let base: string;
  const received: Array<{ headers: Record<string, string>; body: string }> = [];
  // Each test says how the endpoint answers.
  let answer: (res: ServerResponse) => void = (res) => res.writeHead(200).end();
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        answer(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );

  const deliver = (url = `${base}/events`, timeoutMs = 2_000) =>
    createSignedDelivery({ url, secret: SECRET, timeoutMs })(event, "2026-11-21T12:00:00.000Z");
  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      return error as Error;
    }
    throw new Error("expected the delivery to fail");
  };

  it("posts {type, timestamp, data} with a signature the standardwebhooks package verifies", async () => {
    answer = (res) => res.writeHead(204).end();
    const result = await deliver();
    expect(result.status).toBe(204);
    const last = received.at(-1)!;
    const verified = new Webhook(SECRET).verify(last.body, last.headers) as Record<string, unknown>;
    expect(verified).toEqual({
      type: "message.received",
      timestamp: "2026-11-21T12:00:00.000Z",
      data: { messageId: "1" },
    });
    expect(last.headers["webhook-id"]).toBe("msg_1");
  });

  it("turns a 429 with Retry-After into a wait for the whole destination, and one without into a retry", async () => {
    answer = (res) => res.writeHead(429, { "retry-after": "7" }).end("slow down");
    const error = await failure(deliver());
    expect(error).toBeInstanceOf(DestinationRateLimited);
    expect((error as DestinationRateLimited).retryAfterMs).toBe(7_000);
    expect(error.message).toMatch(/answered 429: slow down/);
    answer = (res) => res.writeHead(429).end();
    expect(await failure(deliver())).toBeInstanceOf(RetryableDeliveryError);
  });

  it("honours a 503's Retry-After in the job's own backoff", async () => {
    answer = (res) => res.writeHead(503, { "retry-after": "2" }).end();
    const error = await failure(deliver());
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect((error as RetryableDeliveryError).retryAfterMs).toBe(2_000);
  });

  it("reports a 410 as the destination gone, and fails a redirect at once", async () => {
    answer = (res) => res.writeHead(410).end();
    expect(await failure(deliver())).toBeInstanceOf(DestinationGone);
    answer = (res) => res.writeHead(302, { location: "/elsewhere" }).end();
    const redirect = await failure(deliver());
    expect(redirect).toBeInstanceOf(UnrecoverableError);
    expect(redirect.message).toMatch(/answered 302.*not retried/);
  });

  it("retries an endpoint that does not answer in time", async () => {
    answer = () => {}; // never answers
    const started = performance.now();
    const error = await failure(deliver(`${base}/events`, 300));
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect(error.message).toMatch(/no answer within 300ms/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("retries an endpoint that starts its answer but never finishes it, as a timeout", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial"); // and never ends
    };
    const error = await failure(deliver(`${base}/events`, 300));
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect(error.message).toMatch(/no answer within 300ms/);
  });

  it("fails at once, without throwing out of the request or firing its timer, when node:http refuses the request", async () => {
    // An id that is no valid header value (the protocol never makes one; a custom handler might).
    const unsafe = { ...event, id: "msg_中文\r\n" } as RelayEvent;
    const deliverUnsafe = createSignedDelivery({ url: `${base}/events`, secret: SECRET, timeoutMs: 50 });
    const error = await failure(deliverUnsafe(unsafe, "2026-11-21T12:00:00.000Z"));
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error.message).toMatch(/cannot be sent: Invalid character in header content \["webhook-id"\].*not retried/);
    // The deadline (50 ms) has passed: a timer left behind would have thrown an uncaught error by now.
    await new Promise((r) => setTimeout(r, 150));
  });

  it("retries a refused connection, and never puts URL credentials in the reason", async () => {
    const closedPort = await freePort();
    const error = await failure(deliver(`http://user:hunter2@127.0.0.1:${closedPort}/events?key=s3cret`));
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.message).not.toMatch(/hunter2|s3cret/);
  });
});
