export { ConfigError, parseEnv, loadEnvOrExit } from "./parse-env.ts";
export { envBoolean, envDurationMs, envInt, envList, redisEnv, logLevelEnv } from "./env-fields.ts";
