export { workerEnv, type WorkerConfig } from "./config.ts";
export { startWorker, type RunningWorker, type WorkerOptions } from "./worker.ts";
export { loadHandlersModule } from "./handlers-module.ts";
export { wantsEvent, matchesFilter } from "./destination-filter.ts";
export type { CallbackJobResult } from "./process-callback.ts";
export type { DeliveryJobResult } from "./deliver-to-destination.ts";
export { defineHandlers, type EventHandlers, type EventHandler, type HandlerContext } from "@yuju-relay/handlers";
