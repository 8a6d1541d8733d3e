export { workerEnv, type WorkerConfig } from "./config.ts";
export { startWorker, type RunningWorker, type WorkerOptions } from "./worker.ts";
export { loadHandlersModule } from "./handlers-module.ts";
export { wantsEvent, matchesFilter, whyNotWanted } from "./destination-filter.ts";
export type { CallbackJobResult, DeliveryJobResult } from "@yuju-relay/queue";
export { defineHandlers, type EventHandlers, type EventHandler, type HandlerContext } from "@yuju-relay/handlers";
