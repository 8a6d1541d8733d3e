import type { Logger } from "@yuju-relay/logging";
import {
  isLastAttempt,
  resumeHeldSends,
  type SendAttempt,
  type SendAttemptOutcome,
  type SendJobData,
  type SendPacing,
} from "@yuju-relay/queue";
import { DelayedError, UnrecoverableError, type Job, type Queue } from "bullmq";
import type { PlatformAnswer, PlatformClient } from "./platform-client.ts";
import type { SendMetrics } from "./send-metrics.ts";

/** What a send job leaves as its result. */
export type SendJobResult = { status: "sent"; alreadySent?: boolean } | { status: "failed" };

/** A platform failure worth another attempt (5xx, timeout): BullMQ's backoff decides when. */
export class RetryableSendError extends Error {
  override name = "RetryableSendError";
}

/** A send behind another of its chat waits this long at most before it checks its turn again; the head's end promotes it sooner. */
export const PARKED_SEND_RECHECK_MS = 60_000;

const RESPONSE_EXCERPT = 1_024;

function excerptOf(body: unknown): string | null {
  if (body === null || body === undefined) return null;
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return [...text].slice(0, RESPONSE_EXCERPT).join("");
}

/**
 * One send job: take its turn and its pacing (send-pacing.ts: one script call), call the platform,
 * record the attempt (one script call). A wait moves the job to `delayed` for exactly that long
 * (DelayedError: no attempt used), so a worker slot never spins on a paced send.
 *
 * The window in which a send can go twice: between the platform's accepting it and the `end`
 * script recording `sent`, a dead worker leaves a record that says `sending`; the job runs again
 * (its lock lapses) and calls again, counted in yuju_send_possible_resends_total. A record that
 * says `sent` is never called again, even if its job had not completed.
 */
export function createSendProcessor(deps: {
  client: PlatformClient;
  pacing: SendPacing;
  queue: Queue<SendJobData>;
  redis: Parameters<typeof resumeHeldSends>[0];
  prefix: string;
  metrics: SendMetrics;
  logger: Logger;
  /** While held, how long a send waits before it may probe again. */
  probeIntervalMs: number;
}) {
  const { client, pacing, queue, metrics, logger } = deps;

  const promote = async (sendId: string | null) => {
    if (!sendId) return;
    const next = await queue.getJob(sendId);
    await next?.promote().catch(() => {}); // not delayed: it is running, or will check its turn itself
  };

  const waitFor = async (job: Job<SendJobData>, token: string | undefined, ms: number): Promise<never> => {
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError();
  };

  return async function processSend(job: Job<SendJobData>, token?: string): Promise<SendJobResult> {
    const send = job.data;
    const text = send.message.type === "text" ? send.message.text : null;
    const attemptNumber = job.attemptsMade + 1;
    const verdict = await pacing.begin(send, attemptNumber);
    switch (verdict.verdict) {
      case "already_sent": {
        const { nextInChat } = await pacing.end({ ...send, text: null }, "sent", null, undefined);
        await promote(nextInChat);
        return { status: "sent", alreadySent: true };
      }
      case "order": {
        metrics.waited("order");
        await job.moveToDelayed(Date.now() + PARKED_SEND_RECHECK_MS, token);
        // The head may have ended while this job was checking: its promotion then found it active.
        if ((await pacing.headOf(send.chatId)) === send.sendId) await job.promote().catch(() => {});
        throw new DelayedError();
      }
      case "held":
      case "rate_limited":
      case "account":
      case "window":
        metrics.waited(verdict.verdict);
        return waitFor(job, token, verdict.waitMs);
      case "go":
        break;
    }
    if (verdict.possibleResend) {
      metrics.possibleResend();
      logger.warn({ sendId: send.sendId, chatId: send.chatId }, "send called again after its worker died mid-call");
    }

    const startedAt = Date.now();
    const answer = await client.send(send.chatId, send.message);
    const outcome = outcomeOf(answer, job);
    const attempt: SendAttempt = {
      destination: "platform",
      attempt: attemptNumber,
      inline: false,
      at: new Date(startedAt).toISOString(),
      durationMs: Date.now() - startedAt,
      status: answer.status,
      error: answer.kind === "retry" ? answer.error : null,
      retryAfterMs: answer.kind === "rate_limited" ? answer.retryAfterMs : null,
      responseExcerpt: excerptOf(answer.body),
      outcome: outcome === "sent" ? "delivered" : outcome === "held" ? "paused" : outcome,
      webhookId: send.sendId,
    };
    const { nextInChat, quotaResumed } = await pacing.end(
      { ...send, text },
      outcome,
      attempt,
      { status: answer.status, body: answer.body },
      answer.kind === "rate_limited" ? { holdMs: answer.retryAfterMs } : {},
    );
    metrics.attempt(outcome);
    await promote(nextInChat);

    switch (answer.kind) {
      case "sent":
        if (verdict.probe || quotaResumed) {
          logger.info({ sendId: send.sendId }, "the platform took a send again: quota hold over, resuming held sends");
          await resumeHeldSends(deps.redis, queue, deps.prefix);
        }
        return { status: "sent" };
      case "rate_limited":
        logger.warn({ retryAfterMs: answer.retryAfterMs }, "platform rate-limited the key (429): every send waits");
        return waitFor(job, token, answer.retryAfterMs);
      case "quota_exhausted":
        logger.error({ sendId: send.sendId }, "platform quota spent (402): every send is held");
        return waitFor(job, token, deps.probeIntervalMs);
      case "retry":
        throw outcome === "failed" ? new Error(answer.reason) : new RetryableSendError(answer.reason);
      case "refused":
        throw new UnrecoverableError(answer.reason);
    }
  };
}

function outcomeOf(answer: PlatformAnswer, job: Job<SendJobData>): SendAttemptOutcome {
  switch (answer.kind) {
    case "sent":
      return "sent";
    case "rate_limited":
      return "rate_limited";
    case "quota_exhausted":
      return "held";
    case "refused":
      return "failed";
    case "retry":
      return isLastAttempt(job, new RetryableSendError(answer.reason)) ? "failed" : "retrying";
  }
}
