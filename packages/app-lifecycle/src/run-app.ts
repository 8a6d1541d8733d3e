import { exitOnConfigError, loadEnvOrExit } from "@yuju-relay/config";
import { createLogger, type Logger } from "@yuju-relay/logging";
import type { z } from "zod";

type LogLevelConfig = { LOG_LEVEL: Parameters<typeof createLogger>[1] };

/** What an app's start returns: how to stop it, and where it listens. */
export interface RunningApp {
  close(): Promise<void>;
  /** The app's public address, when it has one. */
  url?: string;
  /** Its ops server (/metrics, /healthz, /readyz), when OPS_PORT is set. */
  ops?: { url: string } | null;
}

/**
 * Sent to a parent that started the app with an IPC channel (`pnpm start`), once the config is
 * parsed and the app listens or consumes: the launcher prints its ready line only after every app's.
 */
export interface AppReadyMessage {
  type: "ready";
  app: string;
  url: string | null;
  opsUrl: string | null;
}

/**
 * What every app's entry point does: parse the environment once (a bad value exits 78, naming the
 * variable), start (a ConfigError thrown while starting, such as a bad RELAY_CONFIG file, exits 78
 * too), and on SIGTERM or SIGINT close in order and exit. A second signal while closing
 * is ignored: the close is already bounded by the app's own timeouts.
 */
export async function runApp<Schema extends z.ZodType<LogLevelConfig>>(
  name: string,
  envSchema: Schema,
  start: (config: z.infer<Schema>, logger: Logger) => Promise<RunningApp>,
): Promise<void> {
  const config = loadEnvOrExit(name, envSchema);
  const logger = createLogger(name, config.LOG_LEVEL);
  let running: RunningApp;
  try {
    running = await start(config, logger);
  } catch (error) {
    running = exitOnConfigError(name, () => {
      throw error;
    });
  }
  const opsUrl = running.ops?.url ?? null;
  // With OPS_PORT=0 this line is the only place that says which port was picked.
  if (opsUrl) logger.info({ port: Number(new URL(opsUrl).port) }, "ops server listening (/metrics, /healthz, /readyz)");
  const ready: AppReadyMessage = { type: "ready", app: name, url: running.url ?? null, opsUrl };
  process.send?.(ready);
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
