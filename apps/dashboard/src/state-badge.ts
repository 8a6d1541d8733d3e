import type { DeliveryState } from "@yuju-relay/inspector";
import { html, type SafeHtml } from "./html.ts";

// A symbol and a word for each state: the badge reads the same without colour.
const SYMBOLS: Record<DeliveryState, string> = {
  delivered: "✓",
  retrying: "↻",
  failed: "✗",
  filtered: "⊘",
  waiting: "⏸",
  queued: "◷",
  rate_limited: "⧗",
  paused: "‖",
  none: "–",
};

export function stateBadge(state: DeliveryState, label?: string | null): SafeHtml {
  return html`<span class="badge badge-${state}"
    >${SYMBOLS[state] ?? "?"} ${label ? `${label}: ` : ""}${state.replace("_", " ")}</span
  >`;
}

/** A destination's badge with its reason (a filter's condition, why it waits). */
export function deliveryBadge(d: { destination: string; state: DeliveryState; reason: string | null }): SafeHtml {
  return html`<span class="delivery"
    >${stateBadge(d.state, d.destination)}${d.reason && (d.state === "filtered" || d.state === "waiting" || d.state === "queued") ? html` <span class="reason">${d.reason}</span>` : ""}</span
  >`;
}
