import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { KoaAdapter } from "@bull-board/koa";
import type { Logger } from "@yuju-relay/logging";
import { CallbackPartitions, createSendQueue, createWorkerConnection } from "@yuju-relay/queue";
import { Queue } from "bullmq";
import Koa from "koa";
import { destinationPolicies, type EventSources } from "@yuju-relay/inspector";
import { basicAuthGuard } from "./basic-auth-guard.ts";
import { BulkReplays } from "./bulk-replays.ts";
import { inspectorPages } from "./event-pages.ts";
import { inspectorApi } from "./inspector-api.ts";
import { requestGuard } from "./request-guard.ts";
import type { DashboardConfig } from "./config.ts";

const INSPECTOR_API = /^\/api\/(events|conversations|refused|replays)(\/|$)/;

export interface RunningDashboard {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startDashboard(config: DashboardConfig, logger: Logger): Promise<RunningDashboard> {
  // Read before connecting: a bad file stops the dashboard (exit 78) naming the path in it.
  const policies = destinationPolicies(config.RELAY_CONFIG, {
    baseDelayMs: config.RETRY_BASE_DELAY,
    maxDelayMs: config.RETRY_MAX_DELAY,
  });
  const destinations = [...policies.keys()];
  // A page request should fail, not hang, while Redis is away.
  const connection = createWorkerConnection(config.REDIS_URL, {
    cluster: config.REDIS_CLUSTER,
    maxRetriesPerRequest: 3,
  });
  connection.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  // The callbacks, then each destination's deliveries: Bull Board shows a 410's pause on its queue,
  // and its Resume button ends it.
  // With partitions, every partition's callbacks queue, then each destination's queue in every
  // partition. The event inspector reads partition 0's (the only one with CALLBACK_PARTITIONS=1).
  const partitions = new CallbackPartitions(config.CALLBACK_PARTITIONS);
  const queueOf = (name: string) => new Queue(name, { connection, prefix: config.QUEUE_PREFIX });
  const callbackQueues = partitions.callbackQueueNames().map((name) => queueOf(name));
  const deliveryQueues = destinations.flatMap((name) =>
    partitions.indexes().map((p) => [name, p, queueOf(partitions.deliveryQueueName(name, p))] as const),
  );
  const callbacks = callbackQueues[0]!;
  const deliveries = new Map(
    deliveryQueues.filter(([, p]) => p === 0).map(([name, , queue]) => [name, queue] as const),
  );
  // The send API's jobs: the message and its chat, never the platform's key.
  const queues = [
    ...callbackQueues,
    ...deliveryQueues.map(([, , queue]) => queue),
    createSendQueue(connection, partitions.sendsPrefix(config.QUEUE_PREFIX)),
  ];

  const board = new KoaAdapter();
  board.setBasePath("/");
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: config.DASHBOARD_READ_ONLY })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: "Yuju Relay" } },
  });

  const sources: EventSources = {
    redis: connection,
    prefix: config.QUEUE_PREFIX,
    callbacks,
    deliveries,
    policies,
    retention: { completedMs: config.KEEP_COMPLETED_AGE, failedMs: config.KEEP_FAILED_AGE },
  };
  const bulk = new BulkReplays(sources);
  const api = inspectorApi(sources, bulk);
  const pages = inspectorPages(sources, { readOnly: config.DASHBOARD_READ_ONLY });

  const app = new Koa();
  // Unauthenticated, for container health checks; says nothing about the queues.
  app.use(async (ctx, next) => {
    if (ctx.path !== "/healthz") return next();
    ctx.body = { status: "ok" };
  });
  app.use(basicAuthGuard({ user: config.DASHBOARD_USER, password: config.DASHBOARD_PASSWORD }));
  // The event inspector first: its paths (/events …, /api/events …) are not Bull Board's.
  app.use(pages.routes());
  // Bull Board's own API (/api/queues …) keeps its own rules: its UI does not send X-Relay-Request.
  const guard = requestGuard({ readOnly: config.DASHBOARD_READ_ONLY });
  app.use((ctx, next) => (INSPECTOR_API.test(ctx.path) ? guard(ctx, next) : next()));
  app.use(api.routes());
  app.use(api.allowedMethods());
  app.use(board.registerPlugin());

  const server = app.listen(config.DASHBOARD_PORT, config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  logger.info({ port, user: config.DASHBOARD_USER, readOnly: config.DASHBOARD_READ_ONLY }, "dashboard listening");
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      bulk.cancelAll();
      await Promise.all(queues.map((q) => q.close()));
      await connection.quit().catch(() => connection.disconnect());
      logger.info("dashboard stopped");
    },
  };
}
