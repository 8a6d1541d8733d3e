import type { EventView } from "@yuju-relay/inspector";
import { textTable } from "./text-table.ts";

/** `relay event` for a person: the event, its callback job, then one row per destination and its attempts. */
export function eventText(report: EventView): string[] {
  const what = [report.type ?? "type unknown (invalid body)", report.kind].filter(Boolean).join(", ");
  const lines = [`event ${report.eventId} (${what})${report.messageId ? `, messageId ${report.messageId}` : ""}`];
  const cb = report.callback;
  if (cb) {
    const outcome = cb.outcome
      ? ` (${cb.outcome}${cb.queuedFor ? (cb.queuedFor.length ? ` for ${cb.queuedFor.join(", ")}` : "") : ""})`
      : "";
    lines.push(
      `callback job ${cb.jobId} [${cb.kind}]: ${cb.state}${outcome}, received ${cb.receivedAt ?? "-"}, attempts ${cb.attempts}/${cb.maxAttempts}`,
    );
    if (cb.failedReason) lines.push(`  reason: ${cb.failedReason}`);
    for (const line of cb.log) lines.push(`  log: ${line}`);
  } else {
    lines.push(`callback job: ${report.callbackNote}`);
  }
  if (report.destinationsNote) {
    lines.push(`destinations: ${report.destinationsNote}`);
    return lines;
  }
  lines.push(
    textTable(
      ["destination", "state", "attempts", "last status", "delivered at", "webhook-id", "answer"],
      report.deliveries.map((d) => [
        d.destination,
        d.state,
        d.jobState === "none"
          ? d.attempts.length
            ? String(d.attempts.length)
            : null
          : `${d.attemptsMade}/${d.maxAttempts}`,
        d.lastStatus ?? d.attempts.at(-1)?.status ?? null,
        d.deliveredAt,
        d.webhookId,
        d.jobState === "none" || d.state === "filtered" ? d.reason : (d.answer ?? d.reason),
      ]),
    ),
  );
  for (const d of report.deliveries) for (const line of d.log) lines.push(`${d.destination} log: ${line}`);
  for (const d of report.deliveries) {
    for (const a of d.attempts) {
      const answer = a.status !== null ? `${a.status}` : (a.error ?? "no answer");
      lines.push(
        `attempt ${d.destination} #${a.attempt}${a.inline ? " (inline)" : ""}: ${a.outcome}, ${answer}, ${a.durationMs} ms, at ${a.at}` +
          (a.retryAfterMs !== null ? `, Retry-After ${a.retryAfterMs} ms` : ""),
      );
    }
  }
  return lines;
}
