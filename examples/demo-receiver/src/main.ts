/**
 * The demo's downstream (`docker compose --profile demo up`): what a company endpoint receiving the
 * relay's events does first. It verifies every delivery's Standard Webhooks signature, de-duplicates
 * on `webhook-id` (delivery is at-least-once), prints one line per event, and counts what it got on
 * GET /stats so that scripts/test-compose.ts can check "every event exactly once".
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { WebhookEnvelope } from "@yuju-relay/protocol";
import { Webhook } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  process.stderr.write("demo-receiver: WEBHOOK_SECRET is required (the worker's FORWARD_SECRET)\n");
  process.exit(78);
}
const webhook = new Webhook(secret);
const port = Number(process.env.PORT ?? 4000);
// A slow endpoint keeps jobs in flight longer: the compose test uses it to stop workers mid-delivery.
const delayMs = Number(process.env.RESPONSE_DELAY_MS ?? 0);

const seen = new Set<string>();
const stats = { received: 0, distinct: 0, duplicates: 0, rejected: 0 };

function summary(delivery: WebhookEnvelope): string {
  if ("messageId" in delivery.data) {
    const data = delivery.data;
    const text = typeof data.text === "string" ? JSON.stringify(data.text.slice(0, 40)) : "";
    const where = data.isGroup ? "group" : "private";
    return `${data.kind} ${where} from ${data.contact.name ?? "?"} ${text}`.trim();
  }
  if (delivery.type === "conversation.burst" && "messages" in delivery.data) {
    return `burst of ${delivery.data.messages.length} in ${delivery.data.chatId} (closed by ${delivery.data.closedBy})`;
  }
  if (!("members" in delivery.data)) return delivery.type;
  const { members, room } = delivery.data;
  return `${members.map((m) => m.name ?? m.id).join(", ")} in ${room.topic ?? "?"}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body?: unknown) {
  res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

const server = createServer(async (req, res) => {
  if (req.method === "GET" && req.url === "/stats") return send(res, 200, stats);
  if (req.method === "GET" && req.url === "/healthz") return send(res, 200, { status: "ok" });
  if (req.method !== "POST" || req.url !== "/events") return send(res, 404, { error: "POST /events" });

  const raw = await readBody(req);
  let delivery: WebhookEnvelope;
  try {
    // Checks the HMAC over id.timestamp.body and that the timestamp is recent (replay protection).
    delivery = webhook.verify(raw, req.headers as Record<string, string>) as WebhookEnvelope;
  } catch (error) {
    stats.rejected++;
    console.log(`REJECTED ${String(req.headers["webhook-id"])}: ${(error as Error).message}`);
    return send(res, 401, { error: "bad signature" });
  }
  const id = String(req.headers["webhook-id"]);
  stats.received++;
  if (seen.has(id)) {
    // Already handled: answer 2xx so the sender stops, but do nothing twice.
    stats.duplicates++;
    console.log(`${id} ${delivery.type} DUPLICATE (ignored)`);
  } else {
    seen.add(id);
    stats.distinct = seen.size;
    console.log(`${id} ${delivery.type} ${summary(delivery)}`);
  }
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  send(res, 204);
});

server.listen(port, "0.0.0.0", () => console.log(`demo-receiver listening on :${port}, POST /events, GET /stats`));
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
