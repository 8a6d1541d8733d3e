import { parseEnv } from "@yuju-relay/config";
import { dashboardEnv, startDashboard } from "@yuju-relay/dashboard";
import { ingressEnv, startIngress } from "@yuju-relay/ingress";
import { createLogger } from "@yuju-relay/logging";
import {
  canStartRedisCluster,
  eventually,
  loadFixtures,
  sendCallback,
  startReceiver,
  startRedisCluster,
} from "@yuju-relay/testing";
import { workerEnv, startWorker } from "@yuju-relay/worker";
import { describe, expect, it } from "vitest";
import { TEST_SIGNING_SECRET } from "@yuju-relay/testing";

const TOKEN = "3f9c2a7e51d84b0c9e6a1f2d7b4c8e05";
const silent = createLogger("test", "silent");

// Needs redis-server and redis-cli (CI installs them); a Cluster is three of them, not a container.
describe.skipIf(!canStartRedisCluster())("on a real Redis Cluster (REDIS_CLUSTER=true, hash-tagged prefix)", () => {
  it("accepts, de-duplicates and delivers callbacks, and the dashboard reads the queue", async () => {
    const cluster = await startRedisCluster();
    const receiver = await startReceiver();
    const shared = { REDIS_URL: cluster.url, REDIS_CLUSTER: "true", QUEUE_PREFIX: "{yuju}", HOST: "127.0.0.1" };
    const ingress = await startIngress(parseEnv(ingressEnv, { ...shared, PORT: "0", CALLBACK_TOKEN: TOKEN }), silent);
    const worker = await startWorker(
      parseEnv(workerEnv, {
        ...shared,
        FORWARD_URL: receiver.url,
        FORWARD_SECRET: TEST_SIGNING_SECRET,
      }),
      silent,
    );
    const dashboard = await startDashboard(
      parseEnv(dashboardEnv, { ...shared, DASHBOARD_PORT: "0", DASHBOARD_PASSWORD: "correct-horse" }),
      silent,
    );
    try {
      const fixtures = loadFixtures().filter((f) => f.name.startsWith("msg_0") || f.name.startsWith("leave_"));
      for (const f of fixtures) {
        const path = f.name.startsWith("msg_") ? "/notice" : "/room/left";
        expect((await sendCallback(`${ingress.url}${path}`, f.raw)).status).toBe(200);
      }
      // A platform redelivery of the first one.
      expect((await sendCallback(`${ingress.url}/notice`, fixtures[0]!.raw)).status).toBe(200);
      await eventually(() => expect(receiver.deliveries).toHaveLength(fixtures.length), { timeoutMs: 20_000 });
      expect(new Set(receiver.deliveries.map((d) => d.headers["webhook-id"])).size).toBe(fixtures.length);

      const auth = { authorization: `Basic ${Buffer.from("admin:correct-horse").toString("base64")}` };
      // The redelivery completes as a duplicate on its own schedule: wait for it, not for the receiver.
      await eventually(async () => {
        const queues = (await (await fetch(`${dashboard.url}/api/queues`, { headers: auth })).json()) as {
          queues: Array<{ name: string; counts: Record<string, number> }>;
        };
        expect(queues.queues[0]).toMatchObject({ name: "callbacks", counts: { completed: fixtures.length + 1 } });
      });
    } finally {
      await ingress.close();
      await worker.close();
      await dashboard.close();
      await receiver.close();
      await cluster.close();
    }
  });
});
