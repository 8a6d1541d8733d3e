/**
 * `pnpm test:compose`: the production shape (docker-compose.yml) for real, on this machine's Docker.
 * Not part of `pnpm test`: CI has no Docker, and it takes minutes.
 *
 * Under a throwaway project name, on free loopback ports:
 *  0. the images build from scratch without a warning (no `gyp ERR!`, no pnpm WARN), named after
 *     the project; `up` starts WORKERS=4 workers, and adding the demo and monitoring profiles with a
 *     second `up` keeps them; Prometheus scrapes the ingress and each of the 4 workers;
 *     the destinations come from a RELAY_CONFIG file mounted as the README says (RELAY_CONFIG_FILE,
 *     secrets in RELAY_SECRETS_FILE): `demo` takes every event, `burst-a` only burst a's texts and
 *     goes to a second receiver; the dashboard lists both queues; a bad file exits 78 naming its path;
 *  1. every fixture, then a burst of distinct messages, reaches the demo receiver exactly once, and
 *     burst a (only it) reaches the second receiver exactly once;
 *  2. each of the 4 workers delivered a share (their "event delivered" log lines);
 *  3. `docker compose stop worker` in the middle of a burst: the workers finish what they hold and
 *     exit 0 before the grace period; once started again, nothing is lost and nothing is doubled;
 *  4. the ingress stops within its grace period.
 * Then `docker compose down -v --rmi local`, whatever happened (KEEP_STACK=1 leaves it up to look at).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { eventually, freePort, loadFixtures, sendCallback } from "@yuju-relay/testing";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
const TOKEN = "3f9c2a7e51d84b0c9e6a1f2d7b4c8e05"; // the token in every fixture
const WORKERS = 4;
const BURST = 400;
const WORKER_GRACE_S = 35; // docker-compose.yml stop_grace_period of the worker
const INGRESS_GRACE_S = 15; // ... and of the ingress

const project = `yuju-test-${process.pid}`;
const [ingressPort, dashboardPort, receiverPort, prometheusPort, burstReceiverPort] = [
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
  await freePort(),
];
// The demo receiver verifies with FORWARD_SECRET; both destinations sign with it.
const webhookSecret = `whsec_${randomBytes(24).toString("base64")}`;
const dashboardPassword = randomBytes(12).toString("base64url");
const settings: Record<string, string> = {
  INGRESS_PORT: `127.0.0.1:${ingressPort}`,
  DASHBOARD_PORT: `127.0.0.1:${dashboardPort}`,
  DEMO_RECEIVER_PORT: String(receiverPort),
  PROMETHEUS_PORT: String(prometheusPort),
  WORKERS: String(WORKERS),
  DASHBOARD_PASSWORD: dashboardPassword,
  CALLBACK_TOKEN: TOKEN,
  FORWARD_SECRET: webhookSecret,
  // The Redis Cluster style prefix, to prove a hash-tagged prefix works end to end.
  QUEUE_PREFIX: "{yuju}",
  LOG_LEVEL: "info",
  // A slow downstream keeps deliveries in flight, so that the workers are stopped mid-delivery.
  DEMO_RESPONSE_DELAY_MS: "200",
};
// Our own env file, and a bare environment: the developer's .env and exported variables
// (REDIS_URL, COMPOSE_PROFILES, ...) must not leak into the stack under test.
const envDir = mkdtempSync(join(tmpdir(), "yuju-compose-"));
const envFile = join(envDir, "test.env");
// README "Destinations in Docker": the file at RELAY_CONFIG_FILE, its secrets in RELAY_SECRETS_FILE.
settings.RELAY_CONFIG = "/config/relay.yaml";
settings.RELAY_CONFIG_FILE = join(envDir, "relay.yaml");
settings.RELAY_SECRETS_FILE = join(envDir, "relay-secrets.env");
writeFileSync(
  settings.RELAY_CONFIG_FILE,
  `destinations:
  - name: demo
    url: http://demo-receiver:4000/events
    secret: \${DEMO_WEBHOOK_SECRET}
  - name: burst-a
    url: http://burst-receiver:4000/events
    secret: \${DEMO_WEBHOOK_SECRET}
    events: [message.received]
    filter:
      kinds: [text]
      textMatches: "^burst a "
`,
);
writeFileSync(settings.RELAY_SECRETS_FILE, `DEMO_WEBHOOK_SECRET=${webhookSecret}\n`);
const badConfigFile = join(envDir, "bad-relay.yaml");
writeFileSync(
  badConfigFile,
  "destinations:\n  - name: demo\n    url: http://demo-receiver:4000/events\n    secret: x\n    filter: { kinds: [txt] }\n",
);
// A second receiver for `burst-a`: the demo receiver's image, in the demo profile, for this test only.
const overrideFile = join(envDir, "compose.test.yml");
writeFileSync(
  overrideFile,
  `services:
  burst-receiver:
    profiles: [demo]
    image: ${project}-demo-receiver
    pull_policy: never
    init: true
    ports: ["127.0.0.1:${burstReceiverPort}:4000"]
    environment: { PORT: 4000, WEBHOOK_SECRET: "${webhookSecret}" }
`,
);
writeFileSync(
  envFile,
  Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n") + "\n",
);
const dockerEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => ["PATH", "HOME"].includes(k) || k.startsWith("DOCKER_")),
);
const composeFile = join(root, "docker-compose.yml");
const composeBase = ["compose", "-p", project, "-f", composeFile, "-f", overrideFile, "--env-file", envFile];
const composeArgs = [...composeBase, "--profile", "demo", "--profile", "monitoring"];

async function docker(args: string[], { quiet = true } = {}): Promise<string> {
  const child = run("docker", args, { env: dockerEnv, maxBuffer: 256 * 1024 * 1024 });
  if (!quiet) child.child.stderr?.pipe(process.stderr);
  return (await child).stdout;
}
const compose = (args: string[], opts?: { quiet?: boolean }) => docker([...composeArgs, ...args], opts);

const started = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}`);
function check(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(`FAILED: ${message}`);
  say(`ok: ${message}`);
}

interface Stats {
  received: number;
  distinct: number;
  duplicates: number;
  rejected: number;
}
async function receiverStats(port = receiverPort): Promise<Stats> {
  return (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as Stats;
}
/** Waits until the receiver has `expected` distinct events; then they must have come exactly once. */
async function expectExactlyOnce(expected: number, what: string, port = receiverPort) {
  const stats = await eventually(
    async () => {
      const s = await receiverStats(port);
      if (s.distinct < expected) throw new Error(`receiver has ${s.distinct} of ${expected} events (${what})`);
      return s;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  check(
    stats.distinct === expected && stats.received === expected && stats.duplicates === 0 && stats.rejected === 0,
    `${what}: receiver got each of ${expected} events exactly once, all signatures valid (${JSON.stringify(stats)})`,
  );
}

const ingress = `http://127.0.0.1:${ingressPort}`;
const message = (messageId: string, text: string) =>
  JSON.stringify({ data: { messageId, type: 7, payload: { text }, token: TOKEN, timestamp: String(Date.now()) } });

/** Posts `count` distinct text messages, `parallel` at a time; `onAccepted` sees the running total. */
async function burst(name: string, count: number, onAccepted?: (accepted: number) => void, parallel = 16) {
  let next = 0;
  let accepted = 0;
  const statuses = new Map<number, number>();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        // A 503 (Redis slower than ENQUEUE_TIMEOUT, as on a loaded machine) stored nothing and
        // is retried, as the platform does; anything else is a failure.
        let status = 0;
        for (let attempt = 0; attempt < 5 && status !== 200; attempt++) {
          ({ status } = await sendCallback(
            `${ingress}/notice`,
            message(`${name}-${project}-${i}`, `burst ${name} #${i}`),
          ));
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status !== 503) break;
        }
        if (status !== 200) continue;
        accepted++;
        onAccepted?.(accepted);
      }
    }),
  );
  check(
    accepted === count,
    `burst ${name}: ${count} callbacks answered 200, 503s retried (statuses: ${JSON.stringify([...statuses])})`,
  );
}

async function workerContainers(): Promise<string[]> {
  return (await compose(["ps", "-a", "-q", "worker"])).split("\n").filter(Boolean);
}
async function logLines(container: string): Promise<Array<{ msg?: string; signal?: string; destination?: string }>> {
  const { stdout, stderr } = await run("docker", ["logs", container], { env: dockerEnv, maxBuffer: 256 * 1024 * 1024 });
  return (stdout + stderr)
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg?: string; signal?: string; destination?: string });
}
async function inspect(container: string, format: string): Promise<string> {
  return (await docker(["inspect", "--format", format, container])).trim();
}
async function timed(action: () => Promise<unknown>): Promise<number> {
  const t = Date.now();
  await action();
  return (Date.now() - t) / 1000;
}

const cleanup = `docker ${composeArgs.join(" ")} down -v --rmi local`;
let failed = false;
try {
  say(`project ${project}: ingress :${ingressPort}, dashboard :${dashboardPort}, receiver :${receiverPort}`);
  say(`if interrupted, remove it with: ${cleanup}`);
  say("building every image from scratch (no cache)");
  const built = await run("docker", [...composeArgs, "build", "--no-cache", "--progress", "plain"], {
    env: dockerEnv,
    maxBuffer: 256 * 1024 * 1024,
  });
  const noise = (built.stdout + built.stderr).split("\n").filter((l) => /gyp ERR!|\bWARN\b|npm (warn|notice)/i.test(l));
  check(noise.length === 0, `the build printed no warning${noise.length ? `: ${noise.slice(0, 5).join(" | ")}` : ""}`);
  for (const service of ["ingress", "worker", "dashboard", "demo-receiver", "prometheus"]) {
    await docker(["image", "inspect", `${project}-${service}`]);
  }
  check(true, `images are named after the project (${project}-ingress, ...)`);

  say(`docker compose up -d (WORKERS=${WORKERS}), waiting until every service is healthy`);
  await docker([...composeBase, "up", "-d", "--wait", "--wait-timeout", "600"], { quiet: false });
  check((await workerContainers()).length === WORKERS, `${WORKERS} worker containers running and healthy`);
  say("docker compose --profile demo --profile monitoring up -d");
  await compose(["up", "-d", "--wait", "--wait-timeout", "600"], { quiet: false });
  check((await workerContainers()).length === WORKERS, `still ${WORKERS} workers after adding the profiles`);

  const targets = await eventually(
    async () => {
      const answer = (await (await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/targets`)).json()) as {
        data: { activeTargets: Array<{ labels: { job: string }; health: string }> };
      };
      const up = (job: string) => answer.data.activeTargets.filter((t) => t.labels.job === job && t.health === "up");
      if (up("ingress").length !== 1 || up("worker").length !== WORKERS) {
        throw new Error(
          `prometheus targets: ${JSON.stringify(answer.data.activeTargets.map((t) => [t.labels, t.health]))}`,
        );
      }
      return answer.data.activeTargets.length;
    },
    { timeoutMs: 90_000, intervalMs: 2_000 },
  );
  check(targets === WORKERS + 1, `prometheus scrapes the ingress and all ${WORKERS} workers, every target up`);
  const rules = (await (await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/rules`)).json()) as {
    data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> };
  };
  const loaded = rules.data.groups.flatMap((g) => g.rules);
  check(
    loaded.length >= 8 && loaded.every((r) => r.health === "ok"),
    `prometheus loaded ${loaded.length} alert rules, all healthy`,
  );

  const dashboard = `http://127.0.0.1:${dashboardPort}/`;
  const basic = `Basic ${Buffer.from(`admin:${dashboardPassword}`).toString("base64")}`;
  check((await fetch(dashboard)).status === 401, "dashboard answers 401 without credentials");
  check(
    (await fetch(dashboard, { headers: { authorization: basic } })).status === 200,
    "dashboard answers 200 with them",
  );
  const queues = (await (await fetch(`${dashboard}api/queues`, { headers: { authorization: basic } })).json()) as {
    queues: Array<{ name: string }>;
  };
  const queueNames = queues.queues.map((q) => q.name).sort();
  check(
    JSON.stringify(queueNames) === JSON.stringify(["callbacks", "deliveries.burst-a", "deliveries.demo", "sends"]),
    `dashboard lists each destination's queue from the mounted RELAY_CONFIG, and the sends queue (${queueNames.join(", ")})`,
  );
  const badRun = await run(
    "docker",
    [
      ...composeArgs,
      "run",
      "--rm",
      "--no-deps",
      "-v",
      `${badConfigFile}:/config/bad.yaml:ro`,
      "-e",
      "RELAY_CONFIG=/config/bad.yaml",
      "worker",
    ],
    { env: dockerEnv },
  ).then(
    () => ({ code: 0, output: "" }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code, output: `${e.stdout}${e.stderr}` }),
  );
  check(
    badRun.code === 78 && badRun.output.includes('destinations[0].filter.kinds[0]: unknown kind "txt"'),
    `a worker given a bad RELAY_CONFIG exits 78 naming the path in the file (exit ${badRun.code})`,
  );

  // 1. The fixtures: messages to /notice, member changes to /room/joined (as the platform does).
  const fixtures = loadFixtures();
  for (const fixture of fixtures) {
    const path = fixture.name.startsWith("msg_") ? "/notice" : "/room/joined";
    const { status } = await sendCallback(`${ingress}${path}`, fixture.raw);
    if (status !== 200) throw new Error(`FAILED: fixture ${fixture.name} answered ${status}`);
  }
  say(`posted ${fixtures.length} fixtures`);
  await expectExactlyOnce(fixtures.length, "fixtures");

  await burst("a", BURST);
  let expected = fixtures.length + BURST;
  await expectExactlyOnce(expected, `fixtures + burst a`);
  await expectExactlyOnce(BURST, "burst a, filtered to destination burst-a", burstReceiverPort);

  // 2. Each worker's share, from its own log.
  const shares = await Promise.all(
    (await workerContainers()).map(async (id) => ({
      name: await inspect(id, "{{.Name}}"),
      delivered: (await logLines(id)).filter((l) => l.msg === "event delivered" && l.destination === "demo").length,
    })),
  );
  for (const s of shares) say(`  ${s.name.replace(/^\//, "")}: ${s.delivered} events delivered`);
  check(
    shares.every((s) => s.delivered > 0),
    `all ${WORKERS} workers delivered a share of the ${expected} events`,
  );
  check(shares.reduce((n, s) => n + s.delivered, 0) === expected, "the shares add up: no event delivered twice");

  // 3. Stop every worker while a burst is coming in and deliveries are in flight.
  let stopping: Promise<number> | undefined;
  const burstB = burst("b", BURST, (accepted) => {
    if (accepted === BURST / 4 && !stopping) {
      say(`burst b: ${accepted} accepted, stopping all workers`);
      stopping = timed(() => compose(["stop", "worker"]));
    }
  });
  await burstB;
  const stopSeconds = await stopping!;
  expected += BURST;
  const atStop = await receiverStats();
  say(`workers stopped in ${stopSeconds.toFixed(1)}s; receiver has ${atStop.distinct} of ${expected} events`);
  check(stopSeconds < WORKER_GRACE_S, `workers stopped within their ${WORKER_GRACE_S}s grace period`);
  check(atStop.distinct < expected, "callbacks accepted while no worker runs wait in Redis");
  let finishedDuringShutdown = 0;
  for (const id of await workerContainers()) {
    const name = (await inspect(id, "{{.Name}}")).replace(/^\//, "");
    const code = await inspect(id, "{{.State.ExitCode}}");
    const lines = await logLines(id);
    const shutdownAt = lines.findLastIndex((l) => l.msg === "shutting down" && l.signal === "SIGTERM");
    const finished = lines
      .slice(shutdownAt + 1)
      .filter((l) => l.msg === "event delivered" && l.destination === "demo").length;
    finishedDuringShutdown += shutdownAt >= 0 ? finished : 0;
    // By presence, not position: Docker may store a container's last lines slightly out of order.
    const stopped = lines.slice(shutdownAt + 1).some((l) => l.msg === "worker stopped");
    check(
      code === "0" && shutdownAt >= 0 && stopped,
      `${name}: SIGTERM, finished ${finished} active deliveries, "worker stopped", exit 0`,
    );
  }
  check(finishedDuringShutdown > 0, `${finishedDuringShutdown} deliveries were in flight at SIGTERM and completed`);

  say("starting the workers again");
  await compose(["start", "worker"]);
  await expectExactlyOnce(expected, "after the workers' stop and restart");
  await expectExactlyOnce(BURST, "burst-a after the restart: nothing of burst b or the fixtures", burstReceiverPort);
  for (const queue of ["callbacks", "deliveries.demo", "deliveries.burst-a"]) {
    const failedJobs = (await compose(["exec", "-T", "redis", "redis-cli", "ZCARD", `{yuju}:${queue}:failed`])).trim();
    check(failedJobs === "0", `no failed job in ${queue}`);
  }
  // The operations CLI ships in the worker's image and reads the worker's environment.
  const stats = JSON.parse(await compose(["exec", "-T", "worker", "relay", "stats", "--json"])) as Array<{
    queue: string;
    failed: number;
  }>;
  check(
    stats.some((s) => s.queue === "callbacks") && stats.every((s) => s.failed === 0),
    "`docker compose exec worker relay stats` answers: no failed job in any queue",
  );

  // 4. The ingress drains and exits within its grace period.
  const ingressId = (await compose(["ps", "-q", "ingress"])).trim();
  const ingressStop = await timed(() => compose(["stop", "ingress"]));
  const ingressStopped = (await logLines(ingressId)).some((l) => l.msg === "ingress stopped");
  check(
    ingressStop < INGRESS_GRACE_S && (await inspect(ingressId, "{{.State.ExitCode}}")) === "0" && ingressStopped,
    `ingress stopped cleanly in ${ingressStop.toFixed(1)}s (grace ${INGRESS_GRACE_S}s)`,
  );
  say("PASSED");
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? error.message : error);
  const status = await compose(["ps", "-a"]).catch(() => "");
  console.error(status);
  console.error(await compose(["logs", "--no-color", "--tail", "30"]).catch(() => ""));
} finally {
  if (process.env.KEEP_STACK) {
    say(`KEEP_STACK set: left running; remove with: ${cleanup}`);
  } else {
    await compose(["down", "-v", "--rmi", "local", "--remove-orphans", "--timeout", "40"]).catch((e: Error) =>
      console.error(e.message),
    );
    say("stack and its images removed (docker compose down -v --rmi local)");
    rmSync(envDir, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
