import { Queue } from "bullmq";
import type { RedisClient } from "./connections.ts";
import { deliveryQueueName } from "./delivery-queues.ts";
import { CALLBACK_QUEUE, type CallbackJobData, type DeliveryJobData } from "./job-catalog.ts";

export function createCallbackQueue(connection: RedisClient, prefix: string): Queue<CallbackJobData> {
  return new Queue<CallbackJobData>(CALLBACK_QUEUE, { connection, prefix });
}

export function createDeliveryQueue(
  connection: RedisClient,
  prefix: string,
  destination: string,
): Queue<DeliveryJobData> {
  return new Queue<DeliveryJobData>(deliveryQueueName(destination), { connection, prefix });
}
