import type { RedisClient } from "./connections.ts";

/**
 * The ingress's refusals (a wrong token, a body too large, not JSON, nested too deep …), kept for
 * the dashboard's `/refused` page: per HTTP status a list `<prefix>:refusals:<status>`, newest
 * first, trimmed to the last REFUSALS_KEPT. Written best effort, off the request path: a refusal
 * is buffered in memory and a timer writes the buffer in one pipeline; while Redis is away the
 * buffer is dropped, never waited on.
 */
export interface Refusal {
  at: string;
  status: number;
  /** What the ingress answered (`invalid token`, `body larger than 1048576 bytes` …). */
  reason: string;
  /** The source address. */
  ip: string;
  path: string;
  /** The first 1 KB of the body, every `token` value replaced; null when it was not read (413). */
  bodyExcerpt: string | null;
}

export const REFUSALS_KEPT = 1_000;
export const refusalKey = (prefix: string, status: number) => `${prefix}:refusals:${status}`;
/** The statuses a refusal is kept under, for the reader. */
export const REFUSAL_STATUSES = [400, 401, 403, 413, 415, 422, 429] as const;

const EXCERPT_BYTES = 1_024;
// Kept of a body until the flush redacts and cuts it: enough that a token early in a large body
// is still found and removed; bounded so that the buffer stays small whatever arrives.
const KEPT_CHARS = 4_096;
const MAX_BUFFERED = 1_000;
const FLUSH_MS = 1_000;

// A JSON member, its key possibly escaped (`"\u0074oken"`) and its value possibly cut short.
const MEMBER = /"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]{["]*)/g;

function decodedKey(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

/** The body with every `token` member's value replaced, wherever it is and however its key is written. */
export function redactTokens(text: string): string {
  return text.replace(MEMBER, (member, key: string, colon: string) =>
    decodedKey(key).trim() === "token" ? `"${key}"${colon}"[removed]"` : member,
  );
}

/** At most 1 KB, cut on a character boundary. */
function firstKilobyte(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= EXCERPT_BYTES) return text;
  return bytes
    .subarray(0, EXCERPT_BYTES)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
}

export interface RefusalLog {
  /** Takes a refusal; returns at once. */
  record(refusal: Omit<Refusal, "at" | "bodyExcerpt"> & { body: string | null }): void;
  /** Writes what is buffered (the timer does it every second). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createRefusalLog(redis: RedisClient, prefix: string, flushMs = FLUSH_MS): RefusalLog {
  let buffer: Array<Omit<Refusal, "bodyExcerpt"> & { body: string | null }> = [];
  const flush = async () => {
    if (buffer.length === 0) return;
    const taken = buffer;
    buffer = [];
    // Redis away: these refusals are lost, on purpose (they are a diagnosis aid, not data).
    if (redis.status !== "ready") return;
    const pipeline = redis.pipeline();
    const touched = new Set<number>();
    for (const { body, ...refusal } of taken) {
      const entry: Refusal = { ...refusal, bodyExcerpt: body === null ? null : firstKilobyte(redactTokens(body)) };
      pipeline.lpush(refusalKey(prefix, refusal.status), JSON.stringify(entry));
      touched.add(refusal.status);
    }
    for (const status of touched) pipeline.ltrim(refusalKey(prefix, status), 0, REFUSALS_KEPT - 1);
    await pipeline.exec().catch(() => {});
  };
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();
  return {
    record({ body, ...refusal }) {
      if (buffer.length >= MAX_BUFFERED) return;
      buffer.push({ ...refusal, at: new Date().toISOString(), body: body === null ? null : body.slice(0, KEPT_CHARS) });
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

/** The refusals kept for one status (or every status), newest first. */
export async function readRefusals(
  redis: RedisClient,
  prefix: string,
  status: number | null,
  limit = REFUSALS_KEPT,
): Promise<Refusal[]> {
  const statuses = status === null ? REFUSAL_STATUSES : [status];
  const lists = await Promise.all(statuses.map((s) => redis.lrange(refusalKey(prefix, s), 0, limit - 1)));
  return lists
    .flat()
    .map((raw) => JSON.parse(raw) as Refusal)
    .sort((a, b) => b.at.localeCompare(a.at))
    .slice(0, limit);
}
