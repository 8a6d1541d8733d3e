import type { EventReport } from "./event-lookup.ts";
import { textTable } from "./text-table.ts";

/** `relay event` for a person: the event, its callback job, then one row per destination. */
export function eventText(report: EventReport): string[] {
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
  lines.push(
    textTable(
      ["destination", "state", "attempts", "last status", "delivered at", "webhook-id", "answer"],
      report.deliveries.map((d) => [
        d.destination,
        d.state,
        d.state === "none" ? null : d.maxAttempts > 0 ? `${d.attempts}/${d.maxAttempts}` : String(d.attempts),
        d.lastStatus,
        d.deliveredAt,
        d.webhookId,
        d.note ?? d.answer,
      ]),
    ),
  );
  for (const d of report.deliveries) for (const line of d.log) lines.push(`${d.destination} log: ${line}`);
  for (const a of report.attempts) {
    const answer = a.status !== null ? `${a.status}` : (a.error ?? "no answer");
    lines.push(
      `attempt ${a.destination} #${a.attempt}${a.inline ? " (inline)" : ""}: ${a.outcome}, ${answer}, ${a.durationMs} ms, at ${a.at}` +
        (a.retryAfterMs !== null ? `, Retry-After ${a.retryAfterMs} ms` : ""),
    );
  }
  return lines;
}
