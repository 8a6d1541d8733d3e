import { replayJobs, type BulkReplaySummary, type JobRef, type ReplayRequest } from "@yuju-relay/inspector";
import { SingleBar, Presets } from "cli-progress";
import type { Output } from "./output.ts";

export type { BulkReplaySummary };

/** Replays every job, a few at a time, with a progress bar on a terminal. */
export async function replayAll(jobs: JobRef[], request: ReplayRequest, io: Output): Promise<BulkReplaySummary> {
  const terminal = io.progress as (NodeJS.WritableStream & { isTTY?: boolean }) | undefined;
  const bar = terminal?.isTTY
    ? new SingleBar(
        {
          stream: terminal,
          format: "replaying [{bar}] {value}/{total} {percentage}% | {eta_formatted} left",
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : null;
  bar?.start(jobs.length, 0);
  const summary = await replayJobs(jobs, request, { onProgress: (done) => bar?.update(done) });
  bar?.stop();
  return summary;
}
