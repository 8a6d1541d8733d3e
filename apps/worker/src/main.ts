import { runApp } from "@yuju-relay/runtime";
import { workerEnv } from "./config.ts";
import { startWorker } from "./worker.ts";

await runApp("worker", workerEnv, (config, logger) => startWorker(config, logger));
