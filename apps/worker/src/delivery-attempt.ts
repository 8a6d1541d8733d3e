import type { AttemptOutcome, DeliveryAttempt, DestinationStatus } from "@yuju-relay/queue";
import { isDeliveryFailure, type AttemptFacts } from "./delivery-errors.ts";

/** The facts of an attempt that ended in an error we did not describe ourselves (a bug): no answer, class `other`. */
export function factsOf(error: unknown, startedAt: Date, started: number): AttemptFacts {
  if (isDeliveryFailure(error)) return error.facts;
  return {
    at: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    status: null,
    error: "other",
    retryAfterMs: null,
    responseExcerpt: null,
    location: null,
  };
}

/** One attempt as the event's record keeps it, and the destination's status it leads to. */
export function attemptRecord(args: {
  destination: string;
  attempt: number;
  inline: boolean;
  facts: AttemptFacts;
  outcome: AttemptOutcome;
  webhookId: string;
  jobId: string | null;
  /** A short why for the status (the error's message); null when delivered. */
  reason: string | null;
}): { attempt: DeliveryAttempt; status: DestinationStatus } {
  const { facts } = args;
  return {
    attempt: {
      destination: args.destination,
      attempt: args.attempt,
      inline: args.inline,
      at: facts.at,
      durationMs: facts.durationMs,
      status: facts.status,
      error: facts.error,
      retryAfterMs: facts.retryAfterMs,
      responseExcerpt: facts.responseExcerpt,
      location: facts.location,
      outcome: args.outcome,
      webhookId: args.webhookId,
    },
    status: {
      state: args.outcome,
      reason: args.reason,
      jobId: args.jobId,
      at: new Date(Date.parse(facts.at) + facts.durationMs).toISOString(),
    },
  };
}
