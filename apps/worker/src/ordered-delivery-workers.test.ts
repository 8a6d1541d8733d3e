import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  eventually,
  freePort,
  sendCallback,
  spawnApp,
  startReceiver,
  uniquePrefix,
  type AppProcess,
  type ReceivedDelivery,
  type Receiver,
} from "@yuju-relay/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { TEST_SIGNING_SECRET as SECRET } from "@yuju-relay/testing";

/** A field of the delivered event's data (message events carry chatId and messageId). */
const dataField = (d: ReceivedDelivery, key: string) =>
  String((d.body.data as unknown as Record<string, unknown>)[key]);

const CONVERSATIONS = 100;
const MESSAGES = 50;
const TOTAL = CONVERSATIONS * MESSAGES;

const chatOf = (c: number) => `chat-${c}`;
const messageOf = (c: number, m: number) => `c${c}-m${m}`;

/** The most requests the receiver held at one moment, and from how many conversations. */
function mostAtOnce(deliveries: ReceivedDelivery[]): { requests: number; conversations: number } {
  const edges = deliveries.flatMap((d) => [
    { at: d.startedAt, delta: 1, chat: dataField(d, "chatId") },
    { at: d.answeredAt, delta: -1, chat: dataField(d, "chatId") },
  ]);
  // An answer and a request at the same instant: the answer first (that is no overlap).
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const open = new Map<string, number>();
  let requests = 0;
  let most = { requests: 0, conversations: 0 };
  for (const edge of edges) {
    requests += edge.delta;
    const n = (open.get(edge.chat) ?? 0) + edge.delta;
    if (n === 0) open.delete(edge.chat);
    else open.set(edge.chat, n);
    if (requests > most.requests) most = { requests, conversations: open.size };
  }
  return most;
}

/**
 * Every request but those for an event the receiver had already accepted: delivery is at least
 * once, and a worker killed between a delivery and its job's completion has that job run again
 * (same webhook-id), whenever it is picked up again.
 */
function withoutRepeats(deliveries: ReceivedDelivery[]): ReceivedDelivery[] {
  const acceptedAt = new Map<string, number>();
  for (const d of deliveries) {
    const id = String(d.headers["webhook-id"]);
    if (d.status === 200) acceptedAt.set(id, Math.min(acceptedAt.get(id) ?? Infinity, d.answeredAt));
  }
  return deliveries.filter((d) => (acceptedAt.get(String(d.headers["webhook-id"])) ?? Infinity) >= d.startedAt);
}

/** Two requests of one conversation at the receiver at the same time, if ever. */
function overlapWithinConversation(deliveries: ReceivedDelivery[]): string | null {
  const byChat = new Map<string, ReceivedDelivery[]>();
  for (const d of deliveries) {
    const chat = dataField(d, "chatId");
    byChat.set(chat, [...(byChat.get(chat) ?? []), d]);
  }
  for (const [chat, list] of byChat) {
    const sorted = [...list].sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.startedAt < sorted[i - 1]!.answeredAt) {
        return `${chat}: ${dataField(sorted[i - 1]!, "messageId")} and ${dataField(sorted[i]!, "messageId")}`;
      }
    }
  }
  return null;
}

describe("ordered delivery with 4 worker processes, a flaky receiver, a worker killed and one joining (real processes)", () => {
  const apps: AppProcess[] = [];
  let receiver: Receiver | undefined;
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop("SIGTERM")));
    await receiver?.close();
  });

  it(
    "every conversation arrives in posted order, none missing, and conversations interleave",
    { timeout: 240_000 },
    async () => {
      receiver = await startReceiver();
      // 20 % of requests fail with 503: each is retried, holding up its own conversation meanwhile.
      receiver.answer = () => (Math.random() < 0.2 ? 503 : 200);
      // An endpoint that takes a few ms, as real ones do: requests that overlap can be seen to.
      receiver.delayMs = 5;
      const dir = mkdtempSync(join(tmpdir(), "relay-ordered-"));
      const configPath = join(dir, "relay.yaml");
      writeFileSync(
        configPath,
        `destinations:
  - name: assistant
    url: ${receiver.url}
    secret: \${ASSISTANT_SECRET}
    ordering: per-conversation
    attempts: 100
    retry: { baseDelay: 10ms, maxDelay: 100ms }
`,
      );
      const prefix = uniquePrefix("orderedworkers");
      const port = await freePort();
      const base = { REDIS_URL: inject("redisUrl"), QUEUE_PREFIX: prefix };
      const ingress = spawnApp("ingress", { ...base, PORT: String(port), HOST: "127.0.0.1" });
      apps.push(ingress);
      const workerEnv = {
        ...base,
        RELAY_CONFIG: configPath,
        ASSISTANT_SECRET: SECRET,
        WORKER_CONCURRENCY: "16",
        LOG_LEVEL: "warn",
      };
      const workers = Array.from({ length: 4 }, () => spawnApp("worker", workerEnv));
      apps.push(...workers);
      await ingress.waitForLog(/listening/);

      // The first accepted delivery of each event (a retried one arrives again under its webhook-id).
      const accepted = new Map<string, string[]>();
      const seen = new Set<string>();
      let scanned = 0;
      const collect = () => {
        for (; scanned < receiver!.deliveries.length; scanned++) {
          const d = receiver!.deliveries[scanned]!;
          const id = String(d.headers["webhook-id"]);
          if (d.status !== 200 || seen.has(id)) continue;
          seen.add(id);
          const chat = dataField(d, "chatId");
          accepted.set(chat, [...(accepted.get(chat) ?? []), dataField(d, "messageId")]);
        }
        return seen.size;
      };

      // Every conversation posts its messages one after the other, each once the last was
      // acknowledged; the 100 conversations post at the same time.
      const posting = Promise.all(
        Array.from({ length: CONVERSATIONS }, async (_, c) => {
          for (let m = 0; m < MESSAGES; m++) {
            const body = JSON.stringify({
              data: { messageId: messageOf(c, m), chatId: chatOf(c), type: 7, payload: { text: `${c}/${m}` } },
            });
            // As the platform does: a 503 (Redis slower than ENQUEUE_TIMEOUT on a loaded machine)
            // is sent again, and the next message waits for this one's 200.
            let answer = await sendCallback(`http://127.0.0.1:${port}/notice`, body);
            for (let retry = 0; answer.status === 503 && retry < 20; retry++) {
              await new Promise((resolve) => setTimeout(resolve, 100));
              answer = await sendCallback(`http://127.0.0.1:${port}/notice`, body);
            }
            expect(answer.status).toBe(200);
          }
        }),
      );

      // One worker dies without a word in the middle of the run, holding jobs.
      await eventually(
        () => {
          expect(collect()).toBeGreaterThanOrEqual(TOTAL / 4);
        },
        { timeoutMs: 120_000, intervalMs: 50 },
      );
      workers[0]!.child.kill("SIGKILL");
      await workers[0]!.exited;
      expect(collect()).toBeLessThan(TOTAL);
      // And another one joins.
      const joining = spawnApp("worker", workerEnv);
      apps.push(joining);

      await posting;
      await eventually(
        () => {
          expect(collect()).toBe(TOTAL);
        },
        { timeoutMs: 150_000, intervalMs: 200 },
      );

      for (let c = 0; c < CONVERSATIONS; c++) {
        expect(accepted.get(chatOf(c)), chatOf(c)).toEqual(Array.from({ length: MESSAGES }, (_, m) => messageOf(c, m)));
      }
      // The 503s were real, and retried.
      expect(receiver.deliveries.filter((d) => d.status === 503).length).toBeGreaterThan(TOTAL / 10);
      // One request at a time per conversation, and many conversations at once.
      const attempts = withoutRepeats(receiver.deliveries);
      expect(overlapWithinConversation(attempts)).toBeNull();
      const most = mostAtOnce(attempts);
      expect(most.requests).toBeGreaterThanOrEqual(8);
      expect(most.conversations).toBe(most.requests);
    },
  );
});
