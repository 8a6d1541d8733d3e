export { ConfigError, parseEnv, loadEnvOrExit, exitOnConfigError } from "./parse-env.ts";
export { checkRedisCluster, envBoolean, envDurationMs, envInt, redisEnv, logLevelEnv } from "./env-fields.ts";
export { retentionEnv } from "./retention-env.ts";
export { DURATION_FORMAT, parseDurationMs } from "./durations.ts";
export {
  checkDestinationEnv,
  DEFAULT_DESTINATION,
  destinationEnv,
  destinationNames,
  loadDestinations,
} from "./destination-env.ts";
export { formatConfigPath, parseRelayConfig, readRelayConfig } from "./relay-config-file.ts";
export {
  DEFAULT_DELIVERY_ATTEMPTS,
  DESTINATION_NAME,
  MAX_DELIVERY_TIMEOUT_MS,
  relayConfigSchema,
  resolveSigningSecret,
  type PreviousSecret,
  type Destination,
  type DestinationDefaults,
  type DestinationFilter,
  type DestinationOrdering,
  type OrderedFailurePolicy,
} from "./relay-config-schema.ts";
export {
  checkSendApiEnv,
  checkSendEnv,
  envSecret,
  envSlidingLimit,
  sendApiEnv,
  sendEnv,
  type SlidingLimit,
} from "./send-env.ts";
export { lookUpSecret, resolveSecretFiles, SECRET_VARIABLES } from "./secret-variables.ts";
