import { loadEnvOrExit } from "@yuju-relay/config";
import { createLogger, type Logger } from "@yuju-relay/logging";
import type { z } from "zod";

type LogLevelConfig = { LOG_LEVEL: Parameters<typeof createLogger>[1] };

/**
 * What every app's entry point does: parse the environment once (a bad value exits 78, naming the
 * variable), start, and on SIGTERM or SIGINT close in order and exit. A second signal while closing
 * is ignored: the close is already bounded by the app's own timeouts.
 */
export async function runApp<Schema extends z.ZodType<LogLevelConfig>>(
  name: string,
  envSchema: Schema,
  start: (config: z.infer<Schema>, logger: Logger) => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  const config = loadEnvOrExit(name, envSchema);
  const logger = createLogger(name, config.LOG_LEVEL);
  const running = await start(config, logger);
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down");
      running.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
}
