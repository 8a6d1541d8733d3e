import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, loadSeedExamples, sendCallback, spawnApp, startReceiver, eventually } from "@yuju-relay/testing";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

describe("pnpm start (the launcher, as a new user runs it)", () => {
  it("starts its own Redis, the three apps, delivers the seed's example, and stops cleanly", async () => {
    const [ingressPort, dashboardPort, redisPort] = [await freePort(), await freePort(), await freePort()];
    const receiver = await startReceiver();
    const launcher = spawnApp("scripts/start.ts", {
      PORT: String(ingressPort),
      DASHBOARD_PORT: String(dashboardPort),
      LOCAL_REDIS_PORT: String(redisPort),
      LOCAL_REDIS_DIR: mkdtempSync(join(tmpdir(), "yuju-start-")),
      FORWARD_URL: receiver.url,
      FORWARD_SECRET: SECRET,
    });
    try {
      const generated = await launcher.waitForLog(/generated one for this run/);
      const password = /run: (\S+)$/.exec(String(generated.msg))?.[1] ?? "";
      await launcher.waitForLog(/\[dashboard\].*dashboard listening/);
      await launcher.waitForLog(/\[worker\].*worker started/);
      await launcher.waitForLog(/\[ingress\].*ingress listening/);

      const seed = loadSeedExamples().find((s) => s.name === "message")!;
      const answer = await sendCallback(`http://127.0.0.1:${ingressPort}${seed.path}`, seed.raw, seed.method);
      expect(answer).toMatchObject({ status: 200, body: {} });
      await eventually(() => expect(receiver.deliveries.map((d) => d.headers["webhook-id"])).toEqual(["msg_string"]));

      const auth = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString("base64")}` };
      expect((await fetch(`http://127.0.0.1:${dashboardPort}/`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${dashboardPort}/`, { headers: auth })).status).toBe(200);
    } finally {
      expect(await launcher.stop("SIGTERM")).toBe(0);
      await receiver.close();
    }
    // Redis went down with it, after the apps.
    const probe = new Redis(`redis://127.0.0.1:${redisPort}`, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    probe.on("error", () => {});
    await expect(probe.connect()).rejects.toThrow();
    probe.disconnect();
  });
});
