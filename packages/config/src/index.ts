export { ConfigError, parseEnv, loadEnvOrExit } from "./parse-env.ts";
export { checkRedisCluster, envBoolean, envDurationMs, envInt, envList, redisEnv, logLevelEnv } from "./env-fields.ts";
