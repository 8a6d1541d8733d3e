export type { EventSources } from "./event-sources.ts";
export { candidateEventIds, findEventJobs, type EventJobs } from "./event-jobs.ts";
export {
  readEvent,
  type AttemptView,
  type DeliveryReport,
  type DeliveryState,
  type EventMissing,
  type EventView,
  type TimelineStep,
} from "./event-read-model.ts";
export {
  conversationEvents,
  decodeCursor,
  MAX_LIMIT,
  searchEvents,
  type EventFilter,
  type EventListItem,
  type EventPage,
} from "./event-search.ts";
export { conversationLines, type ConversationLine } from "./conversation-lines.ts";
export { replayEvent, type EventReplay } from "./event-replay.ts";
export { replayJob, type ReplayOutcome, type ReplayRequest } from "./job-replay.ts";
export { replayJobs, type BulkReplaySummary, type JobRef } from "./bulk-replay.ts";
export { failedDeliveries, type FailedDeliveryFilter } from "./failed-deliveries.ts";
export * from "./job-views.ts";
export { humanDuration } from "./human-duration.ts";
export { parseTimeBound } from "./time-bound.ts";
export { destinationPolicies } from "./destination-policies.ts";
export { conversationSends, sendItemOf, type SendListItem } from "./conversation-sends.ts";
