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
  CallbackPartitions,
  claimPartitionCount,
  createProducerConnection,
  isConnected,
  PartitionedCallbackQueues,
  type RedisClient,
} from "@yuju-relay/queue";
import { Spool, type SpoolDrainer } from "@yuju-relay/spool";
import { createIngressApp } from "./app.ts";
import { queueOnlyStore, spoolingStore } from "./callback-store.ts";
import type { IngressConfig } from "./config.ts";
import { createIngest, tokenDigest } from "./ingest-callback.ts";
import { createQueueEnqueuer } from "./queue-enqueuer.ts";
import { createReadiness } from "./readiness.ts";
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
  const ingest = createIngest({
    expectedTokenDigest: config.CALLBACK_TOKEN ? tokenDigest(config.CALLBACK_TOKEN) : null,
    store: spool ? spoolingStore(enqueue, spool, logger) : queueOnlyStore(enqueue),
  });
  const readinessCheck = { ready: createReadiness(connection, spool, () => draining) };
  const readiness = () => boundedReadiness(readinessCheck);
  const registry = createMetricsRegistry("ingress");
  registerQueueMetrics(
    registry,
    queue.queues.map((q) => ({ queue: q, destination: "" })),
  );
  const callbacks = new Counter({
    name: "yuju_callbacks_total",
    help: "Callbacks received, by outcome (accepted, spooled, unauthorized, malformed, too_deep, unstorable, unavailable, too_large, unreadable)",
    labelNames: ["outcome"],
    registers: [registry],
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
  const app = createIngressApp({
    ingest,
    bodyLimit: config.BODY_LIMIT,
    logger,
    readiness,
    isDraining: () => draining,
    countOutcome: (outcome) => callbacks.inc({ outcome }),
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
  logger.info({ port, host: config.HOST, prefix: config.QUEUE_PREFIX }, "ingress listening");
  const ops =
    config.OPS_PORT === undefined ? null : await startOpsServer(config.OPS_PORT, config.HOST, registry, readinessCheck);

  return {
    server,
    url,
    ops,
    async close() {
      draining = true;
      // New connections are refused; requests already in flight finish and get their answer,
      // which is only 200 once their job is in Redis or the spool, with `Connection: close` (app.ts): each
      // keep-alive socket closes once its answer is written. Idle ones are closed now.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), config.SHUTDOWN_TIMEOUT);
      });
      if ((await Promise.race([closed, timedOut])) === "timeout") {
        logger.warn("in-flight requests did not finish in SHUTDOWN_TIMEOUT: closing their connections");
        server.closeAllConnections();
      }
      clearTimeout(timer);
      await ops?.close();
      // Every answered callback is in Redis or in the spool by now; what the spool holds stays for
      // the next start. A drain batch in flight finishes first (removed from the spool only if stored).
      await drainer?.stop();
      await spool?.close();
      await queue.close().catch(() => {});
      await connection.quit().catch(() => connection.disconnect());
      logger.info("ingress stopped");
    },
  };
}
