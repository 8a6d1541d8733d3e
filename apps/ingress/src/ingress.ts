import { withDeadline } from "@yuju-relay/app-lifecycle";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@yuju-relay/logging";
import {
  boundedReadiness,
  createMetricsRegistry,
  registerQueueMetrics,
  startOpsServer,
  type OpsServer,
} from "@yuju-relay/metrics";
import { Counter } from "prom-client";
import {
  acceptSend,
  CallbackPartitions,
  claimPartitionCount,
  createProducerConnection,
  createRefusalLog,
  createSendQueue,
  isConnected,
  PartitionedCallbackQueues,
  type RedisClient,
} from "@yuju-relay/queue";
import { Spool, type SpoolDrainer } from "@yuju-relay/spool";
import { createIngressApp } from "./app.ts";
import { queueOnlyStore, spoolingStore } from "./callback-store.ts";
import type { IngressConfig } from "./config.ts";
import { AuthFailureLimit } from "./auth-failure-limit.ts";
import { CallbackTokens } from "./callback-tokens.ts";
import { createIngest } from "./ingest-callback.ts";
import { createQueueEnqueuer } from "./queue-enqueuer.ts";
import { createReadiness } from "./readiness.ts";
import { createSendApiApp } from "./send-api.ts";
import { createApiKeyCheck } from "./send-api-keys.ts";
import { createCallbackDrainer } from "./spool-drain.ts";
import { registerSpoolMetrics } from "./spool-metrics.ts";

function waitForReady(connection: RedisClient, timeoutMs: number): Promise<boolean> {
  if (isConnected(connection)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      connection.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    connection.once("ready", onReady);
  });
}

export interface RunningIngress {
  server: Server;
  url: string;
  /** The /metrics, /healthz and /readyz server, when OPS_PORT is set. */
  ops: OpsServer | null;
  /** The send API's base URL, when API_PORT is set. */
  apiUrl: string | null;
  /** Stops accepting, lets in-flight callbacks finish (up to SHUTDOWN_TIMEOUT), then closes Redis. */
  close(): Promise<void>;
}

export async function startIngress(config: IngressConfig, logger: Logger): Promise<RunningIngress> {
  const connection = createProducerConnection(config.REDIS_URL, { cluster: config.REDIS_CLUSTER });
  connection.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  const partitions = new CallbackPartitions(config.CALLBACK_PARTITIONS);
  const queue = new PartitionedCallbackQueues(connection, config.QUEUE_PREFIX, partitions);
  queue.on("error", (error) => logger.warn({ err: error.message }, "queue error"));
  let draining = false;

  if (!config.CALLBACK_TOKEN) {
    logger.warn("CALLBACK_TOKEN is not set: every callback is accepted whatever its token (local trials only)");
  }
  const enqueue = createQueueEnqueuer(queue, connection, { timeoutMs: config.ENQUEUE_TIMEOUT });
  // Opened before the server listens: what a previous run spooled goes to the queue before anything new.
  const spool = config.SPOOL_DIR
    ? await Spool.open({ dir: config.SPOOL_DIR, maxBytes: config.SPOOL_MAX_BYTES, logger }).catch((error: unknown) => {
        // Not started without it: an ingress told to spool must not run without its safety net.
        throw new Error(`SPOOL_DIR ${config.SPOOL_DIR}: cannot open the spool: ${(error as Error).message}`);
      })
    : null;
  const readinessCheck = { ready: createReadiness(connection, spool, () => draining) };
  const readiness = () => boundedReadiness(readinessCheck);
  const registry = createMetricsRegistry("ingress");
  registerQueueMetrics(
    registry,
    queue.queues.map((q) => ({ queue: q, destination: "" })),
  );
  const callbacks = new Counter({
    name: "yuju_callbacks_total",
    help: "Callbacks received, by outcome (accepted, spooled, unauthorized, malformed, too_deep, unstorable, unavailable, too_large, unreadable, forbidden, throttled)",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const tokens = config.CALLBACK_TOKEN ? new CallbackTokens(config.CALLBACK_TOKEN) : null;
  const tokenMatches = new Counter({
    name: "yuju_callback_token_matches_total",
    help: "Callbacks whose token matched CALLBACK_TOKEN, by the token's position in the list (1 is the first), never its value",
    labelNames: ["position"],
    registers: [registry],
  });
  // One child per position, made once: shown at 0 from the start, and no label lookup per callback.
  const matchCounters = (config.CALLBACK_TOKEN ?? []).map((_, i) => tokenMatches.labels({ position: String(i + 1) }));
  const ingest = createIngest({
    tokens,
    onTokenMatch: (position) => matchCounters[position]?.inc(),
    store: spool ? spoolingStore(enqueue, spool, logger) : queueOnlyStore(enqueue),
  });
  let drainer: SpoolDrainer | null = null;
  if (spool) {
    const spoolMetrics = registerSpoolMetrics(registry, spool);
    drainer = createCallbackDrainer({
      spool,
      queue,
      connection,
      maxPerSecond: config.SPOOL_DRAIN_RATE,
      logger,
      onDrained: spoolMetrics.drained,
    });
    drainer.start();
    logger.info(
      { dir: config.SPOOL_DIR, maxBytes: config.SPOOL_MAX_BYTES },
      "spool ready: callbacks Redis cannot take go there",
    );
  }
  // Refused callbacks, for the dashboard's /refused page: buffered, written by a timer, best effort.
  const refusals = createRefusalLog(connection, config.QUEUE_PREFIX);
  const app = createIngressApp({
    ingest,
    bodyLimit: config.BODY_LIMIT,
    logger,
    readiness,
    isDraining: () => draining,
    countOutcome: (outcome) => callbacks.inc({ outcome }),
    allowlist: config.CALLBACK_ALLOWED_IPS ?? null,
    authFailures: tokens && config.AUTH_FAILURE_LIMIT > 0 ? new AuthFailureLimit(config.AUTH_FAILURE_LIMIT) : null,
    trustProxyHops: config.TRUST_PROXY_HOPS,
    recordRefusal: refusals.record,
  });

  // Give Redis a moment before taking traffic; if it is not there, start anyway: callbacks are
  // spooled (or, without a spool, get 503 and /readyz says so) until it is.
  const redisReady = await waitForReady(connection, 5_000);
  if (!redisReady) {
    logger.error(
      { status: connection.status },
      spool
        ? "redis not reachable yet: spooling callbacks until it is"
        : "redis not reachable yet: answering 503 until it is",
    );
  }

  // The partition count recorded in Redis must be ours (a ConfigError: exit 78). Redis away at
  // start: checked once it answers, and an ingress of another count then stops storing.
  if (redisReady) await claimPartitionCount(connection, config.QUEUE_PREFIX, partitions.count);
  else
    connection.once("ready", () => {
      claimPartitionCount(connection, config.QUEUE_PREFIX, partitions.count).catch((error: unknown) => {
        logger.fatal({ err: (error as Error).message }, "partition count mismatch: stopping");
        process.exit(78);
      });
    });

  const server = app.listen(config.PORT, config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  logger.info(
    {
      port,
      host: config.HOST,
      prefix: config.QUEUE_PREFIX,
      // Counts and addresses only: never a token.
      callbackTokens: tokens?.size ?? 0,
      allowedAddresses: config.CALLBACK_ALLOWED_IPS?.entries ?? "any",
      trustProxyHops: config.TRUST_PROXY_HOPS,
    },
    "ingress listening",
  );
  const ops =
    config.OPS_PORT === undefined ? null : await startOpsServer(config.OPS_PORT, config.HOST, registry, readinessCheck);

  // The send API: its own Koa app and port (never the callback port), on the same fail-fast connection.
  let apiServer: Server | null = null;
  let apiUrl: string | null = null;
  const sendQueue =
    config.API_PORT === undefined ? null : createSendQueue(connection, partitions.sendsPrefix(config.QUEUE_PREFIX));
  if (sendQueue && config.API_PORT !== undefined) {
    sendQueue.on("error", (error) => logger.warn({ err: error.message }, "send queue error"));
    const api = createSendApiApp({
      isValidKey: createApiKeyCheck(config.RELAY_API_KEYS),
      accept: (request) => acceptSend(connection, sendQueue, partitions.sendsPrefix(config.QUEUE_PREFIX), request),
      redis: connection,
      prefix: config.QUEUE_PREFIX,
      logger,
      isDraining: () => draining,
    });
    apiServer = api.listen(config.API_PORT, config.API_HOST);
    await new Promise<void>((resolve, reject) => {
      apiServer!.once("listening", resolve);
      apiServer!.once("error", reject);
    });
    const apiPort = (apiServer.address() as AddressInfo).port;
    apiUrl = `http://127.0.0.1:${apiPort}`;
    logger.info({ port: apiPort, host: config.API_HOST, keys: config.RELAY_API_KEYS.length }, "send API listening");
  }

  return {
    server,
    url,
    ops,
    apiUrl,
    async close() {
      draining = true;
      // New connections are refused; requests already in flight finish and get their answer,
      // which is only 200 once their job is in Redis or the spool, with `Connection: close` (app.ts): each
      // keep-alive socket closes once its answer is written. Idle ones are closed now.
      const closed = Promise.all(
        [server, apiServer].map(
          (s) =>
            new Promise<void>((resolve) => {
              if (!s) return resolve();
              s.close(() => resolve());
              s.closeIdleConnections();
            }),
        ),
      ).then(() => {});
      if ((await withDeadline(closed, config.SHUTDOWN_TIMEOUT, () => "timeout" as const)) === "timeout") {
        logger.warn("in-flight requests did not finish in SHUTDOWN_TIMEOUT: closing their connections");
        server.closeAllConnections();
        apiServer?.closeAllConnections();
      }
      await ops?.close();
      // Every answered callback is in Redis or in the spool by now; what the spool holds stays for
      // the next start. A drain batch in flight finishes first (removed from the spool only if stored).
      await drainer?.stop();
      await spool?.close();
      await refusals.close();
      await queue.close().catch(() => {});
      await sendQueue?.close().catch(() => {});
      await connection.quit().catch(() => connection.disconnect());
      logger.info("ingress stopped");
    },
  };
}
