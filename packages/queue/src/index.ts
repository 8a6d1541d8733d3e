export * from "./job-catalog.ts";
export * from "./delivery-queues.ts";
export { createCallbackQueue, createDeliveryQueue, createSendQueue } from "./queues.ts";
export { createProducerConnection, createWorkerConnection, isConnected, type RedisClient } from "./connections.ts";
export { EventClaims, eventClaimKey, type ClaimOutcome, type QueueGates, type WatchedQueue } from "./event-claims.ts";
export { callbackEventId, callbackIndexKey, recordFailedCallback } from "./callback-index.ts";
export { READINESS_PING_TIMEOUT_MS, redisReadiness, type RedisReadiness } from "./redis-readiness.ts";
export { createTickBatcher } from "./tick-batcher.ts";
export { defineScripts, type LuaScript } from "./lua-commands.ts";
export { waitForRedis } from "./wait-for-redis.ts";
export { ConversationOrder, type Reservation, type Turn } from "./conversation-order.ts";
export { FanOutWatermark } from "./fan-out-watermark.ts";
export * from "./event-record.ts";
export * from "./refusal-log.ts";
export { EventRecorder, type RecordWrite } from "./event-recorder.ts";
export { CallbackPartitions } from "./callback-partitions.ts";
export { CLUSTER_SLOTS, partitionTags, targetSlot } from "./partition-tags.ts";
export { claimPartitionCount, partitionCountKey, PARTITION_MIGRATION } from "./partition-count.ts";
export { PartitionedCallbackQueues, type CallbackJobToAdd } from "./partitioned-callback-queues.ts";
export {
  acceptSend,
  IDEMPOTENCY_WINDOW_MS,
  idempotencyKeyOf,
  type SendAcceptance,
  type SendRequest,
} from "./send-acceptance.ts";
export * from "./send-keys.ts";
export * from "./send-record.ts";
export { ACCOUNT_JITTER, SendPacing, type SendPacingConfig, type SendVerdict } from "./send-pacing.ts";
export { CHAT_ACCOUNT_TTL_MS, SendEchoes } from "./send-echoes.ts";
export { resumeHeldSends, sendQuotaHeldSince } from "./send-quota.ts";
export {
  BurstBuffer,
  BURST_SEEN_FOR_MS,
  burstOfMessageKey,
  type BurstEntry,
  type ClosedBurst,
  type MergePolicy,
} from "./burst-buffer.ts";
