import { loadEnvOrExit } from "@yuju-relay/config";
import { createLogger } from "@yuju-relay/logging";
import { ingressEnv } from "./config.ts";
import { startIngress } from "./ingress.ts";

const config = loadEnvOrExit("ingress", ingressEnv);
const logger = createLogger("ingress", config.LOG_LEVEL);
const ingress = await startIngress(config, logger);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    ingress.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
