import { runApp } from "@yuju-relay/app-lifecycle";
import { workerEnv } from "./config.ts";
import { startWorker } from "./worker.ts";

// A bad RELAY_CONFIG or HANDLERS_MODULE is a ConfigError thrown by startWorker: runApp exits 78.
await runApp("worker", workerEnv, (config, logger) => startWorker(config, logger));
