export * from "./job-catalog.ts";
export * from "./delivery-queues.ts";
export { createCallbackQueue, createDeliveryQueue } from "./queues.ts";
export { createProducerConnection, createWorkerConnection, isConnected, type RedisClient } from "./connections.ts";
export { EventClaims, type ClaimOutcome } from "./event-claims.ts";
export { READINESS_PING_TIMEOUT_MS, redisReadiness, type RedisReadiness } from "./redis-readiness.ts";
export { createTickBatcher } from "./tick-batcher.ts";
export { waitForRedis } from "./wait-for-redis.ts";
