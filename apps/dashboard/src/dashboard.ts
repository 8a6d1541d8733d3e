import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { KoaAdapter } from "@bull-board/koa";
import type { Logger } from "@yuju-relay/logging";
import { destinationNames } from "@yuju-relay/config";
import { CallbackPartitions, createWorkerConnection } from "@yuju-relay/queue";
import { Queue } from "bullmq";
import Koa from "koa";
import { basicAuthGuard } from "./basic-auth-guard.ts";
import type { DashboardConfig } from "./config.ts";

export interface RunningDashboard {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function startDashboard(config: DashboardConfig, logger: Logger): Promise<RunningDashboard> {
  // Read before connecting: a bad file stops the dashboard (exit 78) naming the path in it.
  const destinations = destinationNames(config.RELAY_CONFIG);
  // A page request should fail, not hang, while Redis is away.
  const connection = createWorkerConnection(config.REDIS_URL, {
    cluster: config.REDIS_CLUSTER,
    maxRetriesPerRequest: 3,
  });
  connection.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  // The callbacks, then each destination's deliveries: Bull Board shows a 410's pause on its queue,
  // and its Resume button ends it.
  // With partitions, every partition's callbacks queue, then each destination's queue in every partition.
  const partitions = new CallbackPartitions(config.CALLBACK_PARTITIONS);
  const queueOf = (name: string) => new Queue(name, { connection, prefix: config.QUEUE_PREFIX });
  const queues = [
    ...partitions.callbackQueueNames().map(queueOf),
    ...destinations.flatMap((name) => partitions.indexes().map((p) => queueOf(partitions.deliveryQueueName(name, p)))),
  ];

  const board = new KoaAdapter();
  board.setBasePath("/");
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: config.DASHBOARD_READ_ONLY })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: "Yuju Relay" } },
  });

  const app = new Koa();
  // Unauthenticated, for container health checks; says nothing about the queues.
  app.use(async (ctx, next) => {
    if (ctx.path !== "/healthz") return next();
    ctx.body = { status: "ok" };
  });
  app.use(basicAuthGuard({ user: config.DASHBOARD_USER, password: config.DASHBOARD_PASSWORD }));
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
      await Promise.all(queues.map((q) => q.close()));
      await connection.quit().catch(() => connection.disconnect());
      logger.info("dashboard stopped");
    },
  };
}
