import type { AttemptErrorClass, OutgoingMessage } from "@yuju-relay/queue";
import { parseRetryAfter } from "./delivery-errors.ts";

/**
 * The platform's send API, and the one module that knows its shape. Another shape (the vendor's
 * other API takes `imBotId`, `imContactId`, `externalRequestId`) would be another PlatformClient
 * beside this one.
 *
 * The answer's body is not documented; what is assumed:
 *   2xx, and `code` or `errcode` 0 or absent      sent
 *   2xx with another code                         refused (no code is known to be transient)
 *   429 (the body may be a plain string)          rate_limited: the whole key waits Retry-After, or 30 s
 *   402 ("API请求次数不足")                        quota_exhausted: every send is held
 *   5xx, timeouts, connection errors              retry, with backoff
 *   any other 4xx (and 3xx)                       refused at once
 */
export type PlatformAnswer =
  | { kind: "sent"; status: number; body: unknown }
  | { kind: "rate_limited"; status: number; body: unknown; retryAfterMs: number }
  | { kind: "quota_exhausted"; status: number; body: unknown }
  | { kind: "retry"; status: number | null; body: unknown; error: AttemptErrorClass | null; reason: string }
  | { kind: "refused"; status: number; body: unknown; reason: string };

export interface PlatformClient {
  send(chatId: string, message: OutgoingMessage): Promise<PlatformAnswer>;
}

/** A 429 without Retry-After holds the key this long: the public integration's window is 30 s. */
export const DEFAULT_RATE_LIMIT_HOLD_MS = 30_000;

export const SEND_MESSAGE_PATH = "/v1/api/ai/marketing/send/message";

const MESSAGE_TYPES = { text: 0, image: 1, file: 3 } as const;

/** The platform's body for a message: `messageType` 0 text, 1 image, 3 file. */
export function platformBody(chatId: string, message: OutgoingMessage) {
  const payload =
    message.type === "text"
      ? { text: message.text }
      : message.type === "image"
        ? { url: message.url }
        : { url: message.url, ...(message.name ? { name: message.name } : {}) };
  return { chatId, messageType: MESSAGE_TYPES[message.type], payload };
}

/** Removes the key from any text that might hold it (a URL in an error), before anything prints it. */
export function withoutKey(text: string, apiKey: string): string {
  const stripped = text.replace(/([?&]apiKey=)[^&\s"']*/gi, "$1***");
  return apiKey ? stripped.split(apiKey).join("***") : stripped;
}

function bodyOf(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return [...text].slice(0, 1_024).join("");
  }
}

function codeOf(body: unknown): { code: unknown; message: string | null } {
  if (body === null || typeof body !== "object") return { code: undefined, message: null };
  const b = body as Record<string, unknown>;
  const code = b.code ?? b.errcode;
  const message = b.message ?? b.msg ?? b.errmsg;
  return { code, message: typeof message === "string" ? message : null };
}

function errorClassOf(error: unknown): AttemptErrorClass {
  const e = error as { name?: string; cause?: { code?: string; name?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return "timeout";
  const code = e.cause?.code ?? "";
  if (code === "ECONNREFUSED") return "connection_refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "dns";
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "reset";
  if (code.startsWith("ERR_TLS") || code.includes("CERT")) return "tls";
  if (e.cause?.name === "HeadersTimeoutError" || code === "UND_ERR_HEADERS_TIMEOUT") return "timeout";
  return "other";
}

export function interpretAnswer(status: number, body: unknown, retryAfter: string | null): PlatformAnswer {
  if (status === 429) {
    return {
      kind: "rate_limited",
      status,
      body,
      retryAfterMs: parseRetryAfter(retryAfter) ?? DEFAULT_RATE_LIMIT_HOLD_MS,
    };
  }
  if (status === 402) return { kind: "quota_exhausted", status, body };
  if (status >= 500) return { kind: "retry", status, body, error: null, reason: `platform answered ${status}` };
  if (status >= 200 && status < 300) {
    const { code, message } = codeOf(body);
    if (code === undefined || code === null || code === 0 || code === "0") return { kind: "sent", status, body };
    return {
      kind: "refused",
      status,
      body,
      reason: `platform refused it: code ${String(code)}${message ? `, ${message}` : ""}`,
    };
  }
  return { kind: "refused", status, body, reason: `platform answered ${status}` };
}

/** The 语聚AI marketing send API: POST {base}/v1/api/ai/marketing/send/message?apiKey=… */
export function createYujuPlatformClient(options: {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
}): PlatformClient {
  const url = `${options.baseUrl.replace(/\/+$/, "")}${SEND_MESSAGE_PATH}?apiKey=${encodeURIComponent(options.apiKey)}`;
  return {
    async send(chatId, message) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(platformBody(chatId, message)),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        const errorClass = errorClassOf(error);
        return {
          kind: "retry",
          status: null,
          body: null,
          error: errorClass,
          reason: withoutKey(`platform unreachable: ${errorClass} (${(error as Error).message})`, options.apiKey),
        };
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        const errorClass = errorClassOf(error);
        return {
          kind: "retry",
          status: response.status,
          body: null,
          error: errorClass,
          reason: `answer cut: ${errorClass}`,
        };
      }
      // A platform that echoes the request URL must not put the key into the record.
      return interpretAnswer(
        response.status,
        bodyOf(withoutKey(text, options.apiKey)),
        response.headers.get("retry-after"),
      );
    },
  };
}
