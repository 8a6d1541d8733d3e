import { Queue } from "bullmq";
import type { RedisClient } from "./connections.ts";
import { deliveryQueueName } from "./delivery-queues.ts";
import {
  CALLBACK_QUEUE,
  SEND_QUEUE,
  type CallbackJobData,
  type DeliveryJobData,
  type SendJobData,
} from "./job-catalog.ts";

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

export function createSendQueue(connection: RedisClient, prefix: string): Queue<SendJobData> {
  return new Queue<SendJobData>(SEND_QUEUE, { connection, prefix });
}
