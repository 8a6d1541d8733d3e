import { Redis } from "ioredis";

/**
 * Resolves once a Redis at `url` answers PING: a redis-server just spawned takes a moment to listen.
 * `stillStarting` lets the caller give up early when the process it started has already died.
 */
export async function waitForRedis(
  url: string,
  {
    timeoutMs = 10_000,
    stillStarting = (): boolean => true,
  }: { timeoutMs?: number; stillStarting?: () => boolean } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline && stillStarting()) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`Redis at ${url} did not answer within ${timeoutMs}ms: ${String(lastError ?? "the process exited")}`);
}
