import type { SendListItem } from "@yuju-relay/inspector";
import type { SendStatus } from "@yuju-relay/queue";
import { html, time, type SafeHtml } from "./html.ts";

// A symbol and a word for each status, as the delivery badges: readable without colour.
const SEND_BADGES: Record<SendStatus, { symbol: string; style: string }> = {
  queued: { symbol: "◷", style: "queued" },
  sending: { symbol: "↻", style: "retrying" },
  sent: { symbol: "✓", style: "delivered" },
  failed: { symbol: "✗", style: "failed" },
  held: { symbol: "⏸", style: "paused" },
};

function sendBadge(status: SendStatus): SafeHtml {
  const badge = SEND_BADGES[status] ?? { symbol: "?", style: "none" };
  return html`<span class="badge badge-${badge.style}">${badge.symbol} send: ${status}</span>`;
}

/**
 * A send of the relay to this conversation, as a row of the conversation's thread: its id, status,
 * what it sends, the hosted account, and its platform calls (the shape of delivery attempts).
 */
export function sendRow(s: SendListItem): SafeHtml {
  const attempts = s.attempts.map(
    (a) =>
      html`<li>
        #${a.attempt} ${time(a.at)}: ${a.status ?? a.error ?? "no answer"}, ${a.outcome}, ${a.durationMs}
        ms${a.responseExcerpt ? html` <span class="reason">${a.responseExcerpt}</span>` : ""}
      </li>`,
  );
  return html`<tr class="send" data-send-id="${s.id}">
    <td>${s.acceptedAt ? time(s.acceptedAt) : "–"}</td>
    <td>send${s.kind ? ` (${s.kind})` : ""}<br /><span class="muted">${s.id}</span></td>
    <td>from ${s.botWxid ?? "–"}</td>
    <td>${s.excerpt ?? ""}</td>
    <td>
      ${sendBadge(s.status)}
      ${
        attempts.length
          ? html`<ol class="send-attempts">
              ${attempts}
            </ol>`
          : html`<span class="muted">no platform call yet</span>`
      }
    </td>
  </tr>`;
}
