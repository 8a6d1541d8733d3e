import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { CALLBACK_TOKEN, messageBody } from "../lib/body.ts";
import { startChild } from "../lib/child.ts";
import { pacedLoad } from "../lib/paced-load.ts";
import type { BenchContext, ScenarioResult } from "../lib/report.ts";
import { percentiles, round, sleep } from "../lib/stats.ts";

const SECRET = `whsec_${randomBytes(24).toString("base64")}`;

/** The company's endpoint: verifies every signature and notes when each event first arrived. */
export async function startVerifyingReceiver(secret = SECRET) {
  const webhook = new Webhook(secret);
  const arrivals = new Map<string, number>();
  let badSignatures = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = performance.now();
      const id = String(req.headers["webhook-id"]);
      const headers = {
        "webhook-id": id,
        "webhook-timestamp": String(req.headers["webhook-timestamp"]),
        "webhook-signature": String(req.headers["webhook-signature"]),
      };
      try {
        webhook.verify(Buffer.concat(chunks).toString("utf8"), headers);
        if (!arrivals.has(id)) arrivals.set(id, at);
        res.writeHead(204).end();
      } catch {
        badSignatures++;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    arrivals,
    badSignatures: () => badSignatures,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** Posts callbacks at `rate` to the real ingress; the real worker delivers them, signed, to the receiver. */
async function run(ctx: BenchContext, rate: number, durationMs: number) {
  await ctx.redis.flush();
  const prefix = `benche2e${rate}`;
  const tag = randomBytes(4).toString("hex");
  const receiver = await startVerifyingReceiver();
  const ingress = await startChild("ingress", { REDIS_URL: ctx.redis.url, QUEUE_PREFIX: prefix, CALLBACK_TOKEN });
  // The worker as deployed: default concurrency and retention, real signed delivery.
  const worker = await startChild("worker", {
    MODE: "deliver",
    REDIS_URL: ctx.redis.url,
    QUEUE_PREFIX: prefix,
    FORWARD_URL: receiver.url,
    FORWARD_SECRET: SECRET,
  });
  const sentAt = new Map<string, number>();
  const post = (label: string, ms: number) =>
    pacedLoad({
      url: `${String(ingress.ready.url)}/notice`,
      rate,
      durationMs: ms,
      connections: 50,
      // A distinct message each time (else the worker's event claims drop them as redeliveries).
      body: (seq) => messageBody(`e2e-${tag}-${label}-${seq}`),
      onSent: (seq, at) => label === "run" && sentAt.set(`msg_e2e-${tag}-${label}-${seq}`, at),
    });
  try {
    // Warm-up: JIT, connections (ingress, worker, undici's pool to the receiver) before timing.
    const warm = await post("warm", 2_000);
    for (let waited = 0; receiver.arrivals.size < warm.sent && waited < 10_000; waited += 100) await sleep(100);
    receiver.arrivals.clear();
    const paced = await post("run", durationMs);
    const accepted = paced.statuses["200"] ?? 0;
    // A worker that fell behind gets the time to catch up while it still makes progress (bounded).
    const delivered = () => [...receiver.arrivals.keys()].filter((id) => sentAt.has(id)).length;
    for (
      let last = -1, waited = 0;
      delivered() < accepted && delivered() !== last && waited < 30_000;
      waited += 2_000
    ) {
      last = delivered();
      await sleep(2_000);
    }
    const arrivals = [...receiver.arrivals].filter(([id]) => sentAt.has(id)).map(([, at]) => at);
    const spanS = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
    const latencies = [...receiver.arrivals].filter(([id]) => sentAt.has(id)).map(([id, at]) => at - sentAt.get(id)!);
    return {
      rate,
      durationMs,
      posted: paced.sent,
      accepted,
      delivered: latencies.length,
      badSignatures: receiver.badSignatures(),
      deliveriesPerS: Math.round(arrivals.length / spanS),
      endToEndMs: percentiles(latencies),
      ackMs: percentiles(paced.latencies),
    };
  } finally {
    await ingress.stop();
    await worker.stop();
    await receiver.close();
  }
}

type E2E = Awaited<ReturnType<typeof run>>;
const describe = (r: E2E) =>
  `  ${r.rate}/s for ${r.durationMs / 1000} s: ${r.posted} posted, ${r.accepted} acked, ${r.delivered} delivered (${r.deliveriesPerS}/s) and verified, ${r.badSignatures} bad signatures; ` +
  `posted -> received p50 ${round(r.endToEndMs.p50)} ms, p99 ${round(r.endToEndMs.p99)} ms, max ${round(r.endToEndMs.max)} ms; ack p99 ${round(r.ackMs.p99)} ms`;

export async function endToEnd(ctx: BenchContext): Promise<ScenarioResult> {
  const target = await run(ctx, 1_000, 30_000);
  ctx.log(describe(target));
  // The same path at a rate this machine's worker sustains, for what the path itself costs.
  const reference = await run(ctx, 300, 15_000);
  ctx.log(describe(reference));
  const complete = (r: E2E) => r.delivered === r.accepted && r.accepted === r.posted && r.badSignatures === 0;
  const p = (r: E2E) => `${round(r.endToEndMs.p50)} / ${round(r.endToEndMs.p99)} ms`;
  return {
    rows: [
      {
        scenario: "4. end to end at 1000/s for 30 s: p50 / p99 posted -> received",
        measured: p(target),
        baseline: "-",
        ratio: null,
        target: "p99 <= 50 ms",
        met: target.endToEndMs.p99 <= 50,
      },
      {
        scenario: "4. deliveries/s the worker sustained at 1000/s",
        measured: `${target.deliveriesPerS}/s`,
        baseline: "1000/s posted",
        ratio: round(target.deliveriesPerS / 1000),
        target: "(>= 1.00 to keep up)",
        met: null,
      },
      {
        scenario: "4. reference: end to end at 300/s for 15 s: p50 / p99",
        measured: p(reference),
        baseline: "-",
        ratio: null,
        target: "(p99 <= 50 ms)",
        met: null,
      },
      {
        scenario: "4. every acked callback delivered once, signature verified",
        measured: [target, reference].map((r) => `${r.delivered}/${r.accepted}`).join(", "),
        baseline: "-",
        ratio: null,
        target: "all, 0 bad signatures",
        met: complete(target) && complete(reference),
      },
    ],
    details: { target, reference },
  };
}
