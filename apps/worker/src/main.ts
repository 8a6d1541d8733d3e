import { loadEnvOrExit } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { workerEnv } from "./config.ts";
import { startWorker } from "./worker.ts";

const config = loadEnvOrExit("worker", workerEnv);
const logger = createLogger("worker", config.LOG_LEVEL);
const running = await startWorker(config, logger);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing active jobs");
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
