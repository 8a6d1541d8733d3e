import {
  checkRedisCluster,
  destinationEnv,
  envBoolean,
  envInt,
  logLevelEnv,
  redisEnv,
  retentionEnv,
} from "@yuju-relay/config";
import { z } from "zod";

export const dashboardEnv = z
  .object({
    ...redisEnv,
    ...logLevelEnv,
    /** Port of Bull Board. */
    DASHBOARD_PORT: envInt({ default: 3001, min: 0, max: 65_535 }),
    HOST: z.string().default("0.0.0.0"),
    /** HTTP Basic user. */
    DASHBOARD_USER: z.string().min(1).default("admin"),
    /**
     * HTTP Basic password. Required: the dashboard can retry and delete jobs and shows message
     * contents, so it never runs open. (`pnpm start` generates one when unset and prints it once.)
     */
    DASHBOARD_PASSWORD: z
      .string("is required (the dashboard never runs without a password)")
      .min(8, "must be at least 8 characters"),
    /**
     * The worker's RELAY_CONFIG file: the dashboard shows each destination's queue. Only names are
     * read; the secrets' variables need not be set here. Unset: the queue of `default` (FORWARD_URL).
     */
    RELAY_CONFIG: z.string().optional(),
    /** true: look only; retry, clean and delete answer 405, the inspector's buttons are hidden and its POSTs answer 405. */
    DASHBOARD_READ_ONLY: envBoolean(false),
    /** The worker's retention: the event inspector says how long a record is kept when one is gone. */
    // For a replay of an event delivered inline: its new delivery job gets the destination's policy.
    RETRY_BASE_DELAY: destinationEnv.RETRY_BASE_DELAY,
    RETRY_MAX_DELAY: destinationEnv.RETRY_MAX_DELAY,
    KEEP_COMPLETED_AGE: retentionEnv.KEEP_COMPLETED_AGE,
    KEEP_FAILED_AGE: retentionEnv.KEEP_FAILED_AGE,
  })
  .superRefine(checkRedisCluster);

export type DashboardConfig = z.infer<typeof dashboardEnv>;
