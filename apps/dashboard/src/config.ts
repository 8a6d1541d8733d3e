import { checkRedisCluster, envBoolean, envInt, logLevelEnv, redisEnv } from "@yuju-relay/config";
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
    /** true: look only; retry, clean and delete answer 405. */
    DASHBOARD_READ_ONLY: envBoolean(false),
  })
  .superRefine(checkRedisCluster);

export type DashboardConfig = z.infer<typeof dashboardEnv>;
