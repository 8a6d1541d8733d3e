import { checkRedisCluster, ConfigError, destinationEnv, parseEnv, redisEnv, retentionEnv } from "@yuju-relay/config";
import { z } from "zod";
import { CliError, configErrorLine } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";

/**
 * The variables `relay` reads: the worker's own, those that say where the queues are and which
 * destinations exist. It never signs, so the secrets' variables are not needed (nor read).
 */
export const cliEnv = z
  .object({
    ...redisEnv,
    RELAY_CONFIG: destinationEnv.RELAY_CONFIG,
    // For a replay of an event delivered inline: its new delivery job gets the destination's policy.
    RETRY_BASE_DELAY: destinationEnv.RETRY_BASE_DELAY,
    RETRY_MAX_DELAY: destinationEnv.RETRY_MAX_DELAY,
    KEEP_COMPLETED_AGE: retentionEnv.KEEP_COMPLETED_AGE,
    KEEP_FAILED_AGE: retentionEnv.KEEP_FAILED_AGE,
  })
  .superRefine(checkRedisCluster);

export type CliConfig = z.infer<typeof cliEnv>;

export function readCliEnv(env: Record<string, string | undefined> = process.env): CliConfig {
  try {
    return parseEnv(cliEnv, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(configErrorLine(error), EXIT.config);
    throw error;
  }
}
