import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** One call the mock platform received. */
export interface PlatformCall {
  /** Date.now() when its body had arrived. */
  at: number;
  path: string;
  /** The `apiKey` query parameter as received. */
  apiKey: string | null;
  chatId: string;
  messageType: number;
  payload: Record<string, unknown>;
  /** What it answered. */
  status: number;
}

/**
 * What the mock answers:
 *   ok            200 {"code":0,"message":"ok"}
 *   rate_limited  429 with a plain-string body (as the public integration documents), Retry-After if set
 *   quota         402 {"code":402,"message":"API请求次数不足"}
 *   error         500
 *   bad_request   400 {"code":400,"message":"chatId 不存在"}
 */
export type PlatformMode = "ok" | "rate_limited" | "quota" | "error" | "bad_request";

export interface MockPlatform {
  /** The base URL (PLATFORM_API_URL). */
  url: string;
  calls: PlatformCall[];
  mode: PlatformMode;
  /** Answers the next calls in these modes, then `mode`. */
  respondWith(...modes: PlatformMode[]): void;
  /** Sent as Retry-After with 429s, when set. */
  retryAfter: string | null;
  /** Holds every answer this long: a slow platform. */
  delayMs: number;
  /** Called with each call as it arrives, before it is answered (a test can kill a worker then). */
  onCall: ((call: PlatformCall) => void) | null;
  /** Calls answered with 200. */
  sent(): PlatformCall[];
  close(): Promise<void>;
}

const ANSWERS: Record<PlatformMode, { status: number; body: string; type: string }> = {
  ok: { status: 200, body: JSON.stringify({ code: 0, message: "ok" }), type: "application/json" },
  rate_limited: { status: 429, body: "Too Many Requests", type: "text/plain" },
  quota: { status: 402, body: JSON.stringify({ code: 402, message: "API请求次数不足" }), type: "application/json" },
  bad_request: { status: 400, body: JSON.stringify({ code: 400, message: "chatId 不存在" }), type: "application/json" },
  error: { status: 500, body: JSON.stringify({ code: 500, message: "internal error" }), type: "application/json" },
};

/** A real HTTP server implementing the platform's send endpoint; it records every call. */
export async function startMockPlatform(): Promise<MockPlatform> {
  const script: PlatformMode[] = [];
  const platform = { calls: [], mode: "ok", retryAfter: null, delayMs: 0, onCall: null } as unknown as MockPlatform;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://mock");
      let body: { chatId?: string; messageType?: number; payload?: Record<string, unknown> } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
      } catch {
        // recorded with empty fields
      }
      const mode = script.shift() ?? platform.mode;
      const answer = ANSWERS[mode];
      const call: PlatformCall = {
        at: Date.now(),
        path: url.pathname,
        apiKey: url.searchParams.get("apiKey"),
        chatId: String(body.chatId ?? ""),
        messageType: Number(body.messageType),
        payload: body.payload ?? {},
        status: answer.status,
      };
      platform.calls.push(call);
      platform.onCall?.(call);
      const headers: Record<string, string> = { "content-type": answer.type };
      if (mode === "rate_limited" && platform.retryAfter) headers["retry-after"] = platform.retryAfter;
      const reply = () => res.writeHead(answer.status, headers).end(answer.body);
      if (platform.delayMs > 0) setTimeout(reply, platform.delayMs);
      else reply();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  Object.assign(platform, {
    url: `http://127.0.0.1:${port}`,
    respondWith: (...modes: PlatformMode[]) => script.push(...modes),
    sent: () => platform.calls.filter((c) => c.status === 200),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return platform;
}
