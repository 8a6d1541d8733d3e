import { randomUUID } from "node:crypto";
import {
  failedDeliveries,
  replayJobs,
  type EventSources,
  type FailedDeliveryFilter,
  type JobRef,
} from "@yuju-relay/inspector";

export interface BulkReplayState {
  id: string;
  state: "running" | "done" | "cancelled";
  total: number;
  done: number;
  replayed: number;
  skipped: number;
  errors: number;
  by: string;
  startedAt: string;
}

// Finished runs kept for their page to read; older ones are forgotten.
const KEPT_RUNS = 20;

/**
 * The dashboard's bulk replays: counted first (estimate), then run in this process, a few jobs at a
 * time, with progress to poll and a cancel that stops between jobs. A run belongs to the process
 * that started it: a restart ends it, and what it had not reached stays failed.
 */
export class BulkReplays {
  private readonly runs = new Map<string, BulkReplayState & { abort: AbortController }>();

  constructor(private readonly sources: EventSources) {}

  async estimate(filter: FailedDeliveryFilter): Promise<{ count: number; byDestination: Record<string, number> }> {
    const refs = await failedDeliveries(this.sources, filter);
    return { count: refs.length, byDestination: byDestination(refs) };
  }

  async start(filter: FailedDeliveryFilter, request: { asNew: boolean; by: string }): Promise<BulkReplayState> {
    const refs = await failedDeliveries(this.sources, filter);
    const abort = new AbortController();
    const run = {
      id: randomUUID(),
      state: "running" as BulkReplayState["state"],
      total: refs.length,
      done: 0,
      replayed: 0,
      skipped: 0,
      errors: 0,
      by: request.by,
      startedAt: new Date().toISOString(),
      abort,
    };
    this.runs.set(run.id, run);
    for (const old of [...this.runs.keys()].slice(0, Math.max(0, this.runs.size - KEPT_RUNS))) this.runs.delete(old);
    void replayJobs(
      refs,
      {
        asNew: request.asNew,
        commandLine: `${request.by}: bulk replay of failed deliveries${request.asNew ? " as new" : ""}`,
      },
      { signal: abort.signal, onProgress: (done) => (run.done = done) },
    )
      .then((summary) => {
        Object.assign(run, {
          replayed: summary.replayed,
          skipped: summary.skipped,
          errors: summary.errors.length,
          state: summary.cancelled ? "cancelled" : "done",
        });
      })
      .catch(() => Object.assign(run, { state: "done", errors: run.errors + 1 }));
    return this.view(run);
  }

  get(id: string): BulkReplayState | null {
    const run = this.runs.get(id);
    return run ? this.view(run) : null;
  }

  cancel(id: string): BulkReplayState | null {
    const run = this.runs.get(id);
    run?.abort.abort();
    return run ? this.view(run) : null;
  }

  /** Stops every run between two jobs (shutdown). */
  cancelAll(): void {
    for (const run of this.runs.values()) run.abort.abort();
  }

  private view({ abort: _, ...state }: BulkReplayState & { abort: AbortController }): BulkReplayState {
    return state;
  }
}

function byDestination(refs: readonly JobRef[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { queue } of refs) {
    const name = queue.name.replace(/^deliveries\./, "");
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
