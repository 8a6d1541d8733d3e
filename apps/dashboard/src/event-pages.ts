import Router from "@koa/router";
import {
  conversationEvents,
  conversationLines,
  conversationSends,
  readEvent,
  searchEvents,
  type EventListItem,
  type EventSources,
  type EventView,
  type SendListItem,
} from "@yuju-relay/inspector";
import { REFUSAL_STATUSES, readRefusals } from "@yuju-relay/queue";
import { FILTER_STATES, filterOfQuery, one } from "./event-filter-query.ts";
import { html, time, type SafeHtml } from "./html.ts";
import { PAGE_SCRIPT, PAGE_STYLE } from "./page-assets.ts";
import { page } from "./page-layout.ts";
import { sendRow } from "./send-row.ts";
import { deliveryBadge, stateBadge } from "./state-badge.ts";

const PAGE_SIZE = 50;
const eventHref = (id: string) => `/events/${encodeURIComponent(id)}`;
const chatHref = (chatId: string) => `/conversations/${encodeURIComponent(chatId)}`;

function eventRow(e: EventListItem): SafeHtml {
  return html`<tr>
    <td>${time(e.receivedAt)}</td>
    <td>
      <a href="${eventHref(e.id)}">${e.type}${e.kind ? ` (${e.kind})` : ""}</a><br /><span class="muted"
        >${e.messageId ?? e.id}</span
      >
    </td>
    <td>
      ${e.chatId ? html`<a href="${chatHref(e.chatId)}">${e.chatId}</a>` : "–"}<br /><span class="muted"
        >${[e.contactId, e.roomId].filter(Boolean).join(" · ")}</span
      >
    </td>
    <td>${e.excerpt ?? ""}</td>
    <td>${e.deliveries.length ? e.deliveries.map(deliveryBadge) : html`<span class="muted">no destination</span>`}</td>
  </tr>`;
}

function eventTable(rows: SafeHtml[]): SafeHtml {
  return html`<table class="events">
    <thead>
      <tr>
        <th>Received</th>
        <th>Event</th>
        <th>Chat · contact · room</th>
        <th>Text</th>
        <th>Destinations</th>
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

function eventRows(events: EventListItem[]): SafeHtml {
  if (events.length === 0) return html`<p class="muted">No event matches.</p>`;
  return eventTable(events.map(eventRow));
}

/** A conversation's events and the relay's sends to it, in one thread by time. */
function conversationRows(events: EventListItem[], sends: SendListItem[]): SafeHtml {
  if (events.length === 0 && sends.length === 0) return html`<p class="muted">No event and no send.</p>`;
  const rows = [
    ...events.map((e) => ({ at: Date.parse(e.receivedAt), row: eventRow(e) })),
    ...sends.map((s) => ({ at: Date.parse(s.acceptedAt ?? "") || 0, row: sendRow(s) })),
  ];
  // A stable sort: an event and a send of the same millisecond keep events first.
  rows.sort((a, b) => a.at - b.at);
  return eventTable(rows.map((r) => r.row));
}

function searchForm(query: Record<string, unknown>, destinations: string[]): SafeHtml {
  const value = (name: string) => (typeof query[name] === "string" ? (query[name] as string) : "");
  return html`<form class="filters" method="get" action="/events">
    <label
      >messageId, event id, chatId, contactId, roomId or botWxid<input
        name="q"
        size="40"
        value="${value("q")}"
        autofocus
    /></label>
    <label
      >State<select name="state">
        <option value="">any</option>
        ${FILTER_STATES.map((s) => html`<option ${value("state") === s ? "selected" : ""}>${s}</option>`)}
      </select></label
    >
    <label
      >Destination<select name="destination">
        <option value="">any</option>
        ${destinations.map((d) => html`<option ${value("destination") === d ? "selected" : ""}>${d}</option>`)}
      </select></label
    >
    <label
      >Type or kind<input name="type" size="16" value="${value("type")}" placeholder="message.received, text …"
    /></label>
    <label>Since<input name="since" size="14" value="${value("since")}" placeholder="2h, ISO, epoch ms" /></label>
    <label>Until<input name="until" size="14" value="${value("until")}" /></label>
    <button type="submit">Search</button>
  </form>`;
}

function timeline(view: EventView): SafeHtml {
  return html`<ol class="timeline">
    ${view.timeline.map(
      (s) =>
        html`<li>
          <strong>${s.step}</strong> ${time(s.at)} ${s.note ? html`<span class="muted">${s.note}</span>` : ""}
        </li>`,
    )}
  </ol>`;
}

// What a replay can take: a delivery job, or a delivery made inline (the replay adds its job).
const replayable = (d: EventView["deliveries"][number]) => d.jobId !== null || d.state === "delivered";

function destinationSection(view: EventView, d: EventView["deliveries"][number], readOnly: boolean): SafeHtml {
  const attempts = d.attempts.length
    ? html`<table class="attempts">
        <thead>
          <tr>
            <th>#</th>
            <th>At</th>
            <th>Duration</th>
            <th>Status or error</th>
            <th>Retry-After</th>
            <th>Outcome</th>
            <th>webhook-id</th>
            <th>Answer (first 1 KB)</th>
          </tr>
        </thead>
        <tbody>
          ${d.attempts.map(
            (a) =>
              html`<tr>
                <td>${a.attempt}${a.inline ? " (inline)" : ""}</td>
                <td>${time(a.at)}</td>
                <td>${a.durationMs} ms</td>
                <td>${a.status ?? a.error ?? "no answer"}</td>
                <td>${a.retryAfterMs === null ? "–" : `${a.retryAfterMs} ms`}</td>
                <td>${a.outcome}</td>
                <td>${a.webhookId}</td>
                <td>${a.responseExcerpt ? html`<pre>${a.responseExcerpt}</pre>` : ""}</td>
              </tr>`,
          )}
        </tbody>
      </table>`
    : html`<p class="muted">
        No attempt
        recorded${d.jobId ? html` (job ${d.jobId}: ${d.jobState}, ${d.attemptsMade}/${d.maxAttempts} attempts${d.lastStatus ? `, last status ${d.lastStatus}` : ""}${d.answer ? `, ${d.answer}` : ""})` : ""}.
      </p>`;
  const buttons =
    readOnly || !replayable(d)
      ? ""
      : html`<div class="actions">
          <button
            data-replay="/api/events/${encodeURIComponent(view.eventId)}/replay"
            data-destination="${d.destination}"
            data-as-new="false"
            data-confirm="Replay ${view.eventId} to ${d.destination}, under the same webhook-id?"
          >
            Replay to ${d.destination}
          </button>
          <button
            data-replay="/api/events/${encodeURIComponent(view.eventId)}/replay"
            data-destination="${d.destination}"
            data-as-new="true"
            data-confirm="Replay ${view.eventId} to ${d.destination} as new, under a new webhook-id?"
          >
            Replay to ${d.destination} as new
          </button>
        </div>`;
  return html`<section class="destination" data-destination="${d.destination}">
    <h3>${d.destination} ${stateBadge(d.state)}</h3>
    ${d.reason ? html`<p class="reason">${d.state === "filtered" ? "Excluded by " : ""}${d.reason}</p>` : ""}
    ${attempts}
    ${
      d.log.length
        ? html`<p>Job log:</p>
            <pre class="log">${d.log.join("\n")}</pre>`
        : ""
    }
    ${buttons}
  </section>`;
}

function eventPage(view: EventView, readOnly: boolean): string {
  const s = view.summary;
  const chatId = s?.chatId ?? null;
  const anyJob = view.deliveries.some(replayable) || view.callback?.state === "failed";
  return page(
    `Event ${view.eventId}`,
    html`<table class="summary">
        <tbody>
          <tr>
            <th>Type</th>
            <td>${view.type ?? "unknown (invalid body)"}${view.kind ? ` (${view.kind})` : ""}</td>
          </tr>
          <tr>
            <th>messageId</th>
            <td>${view.messageId ?? "–"}</td>
          </tr>
          <tr>
            <th>Received</th>
            <td>${time(view.receivedAt)}</td>
          </tr>
          <tr>
            <th>Chat</th>
            <td>${chatId ? html`<a href="${chatHref(chatId)}">${chatId}</a>` : "–"}</td>
          </tr>
          <tr>
            <th>Contact · room · bot</th>
            <td>${[s?.contactId, s?.roomId, s?.botWxid].filter(Boolean).join(" · ") || "–"}</td>
          </tr>
          ${
            s?.excerpt
              ? html`<tr>
                  <th>Text</th>
                  <td>${s.excerpt}</td>
                </tr>`
              : ""
          }
        </tbody>
      </table>
      <h2>Callback job</h2>
      ${timeline(view)} ${view.callbackNote ? html`<p class="muted">${view.callbackNote}</p>` : ""}
      ${view.callback?.log.length ? html`<pre class="log">${view.callback.log.join("\n")}</pre>` : ""}
      <h2>Destinations</h2>
      ${view.destinationsNote ? html`<p>${view.destinationsNote}</p>` : ""}
      ${
        !readOnly && anyJob
          ? html`<div class="actions">
              <button
                class="action"
                data-replay="/api/events/${encodeURIComponent(view.eventId)}/replay"
                data-as-new="false"
                data-confirm="Replay ${view.eventId} to every destination it went to, under the same webhook-id?"
              >
                Replay to all
              </button>
              <button
                class="action"
                data-replay="/api/events/${encodeURIComponent(view.eventId)}/replay"
                data-as-new="true"
                data-confirm="Replay ${view.eventId} to every destination as new, under a new webhook-id?"
              >
                Replay to all as new
              </button>
            </div>`
          : ""
      }
      ${view.deliveries.map((d) => destinationSection(view, d, readOnly))}
      <h2>Body as sent</h2>
      ${
        view.body
          ? html`<p>webhook-id: <code>${view.body.webhookId}</code></p>
              <pre class="body">${JSON.stringify(view.body.envelope, null, 2)}</pre>`
          : html`<p class="muted">Unknown: the body never became an event (see the callback job).</p>`
      }`,
  );
}

/** The inspector's pages: server-rendered HTML, one small script for times and buttons. */
export function inspectorPages(sources: EventSources, options: { readOnly: boolean }): Router {
  const router = new Router();
  const destinations = [...sources.deliveries.keys()];

  router.get("/inspector/style.css", (ctx) => {
    ctx.type = "text/css; charset=utf-8";
    ctx.body = PAGE_STYLE;
  });
  router.get("/inspector/page.js", (ctx) => {
    ctx.type = "text/javascript; charset=utf-8";
    ctx.body = PAGE_SCRIPT;
  });

  router.get("/events", async (ctx) => {
    ctx.type = "text/html; charset=utf-8";
    const parsed = filterOfQuery(ctx.query);
    if ("error" in parsed) {
      ctx.status = 400;
      ctx.body = page(
        "Events",
        html`${searchForm(ctx.query, destinations)}
          <p>${parsed.error}</p>`,
      );
      return;
    }
    let result;
    try {
      result = await searchEvents(sources, parsed.filter, { limit: PAGE_SIZE, cursor: one(ctx.query, "cursor") });
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      ctx.status = 400;
      ctx.body = page(
        "Events",
        html`${searchForm(ctx.query, destinations)}
          <p>cursor: ${error.message}</p>`,
      );
      return;
    }
    const next = new URLSearchParams(
      Object.entries({ ...ctx.query, cursor: result.nextCursor ?? "" }).map(
        ([k, v]) => [k, String(v ?? "")] as [string, string],
      ),
    );
    const failedFilter = new URLSearchParams(
      Object.entries(ctx.query)
        .filter(([k]) => ["q", "destination", "type", "since", "until"].includes(k))
        .map(([k, v]) => [k, String(v ?? "")] as [string, string]),
    );
    ctx.body = page(
      "Events",
      html`${searchForm(ctx.query, destinations)} ${eventRows(result.events)}
        ${result.nextCursor ? html`<p><a rel="next" href="/events?${next.toString()}">Older events →</a></p>` : ""}
        <p><a href="/replays?${failedFilter.toString()}">Replay the failed deliveries matching this filter…</a></p>`,
    );
  });

  router.get("/events/:eventId", async (ctx) => {
    ctx.type = "text/html; charset=utf-8";
    const view = await readEvent(sources, ctx.params.eventId!);
    if (!view.found) {
      ctx.status = 404;
      ctx.body = page("Event not found", html`<p>${view.message}</p>`);
      return;
    }
    ctx.body = eventPage(view, options.readOnly);
  });

  router.get("/conversations/:chatId", async (ctx) => {
    ctx.type = "text/html; charset=utf-8";
    const chatId = ctx.params.chatId!;
    const cursor = one(ctx.query, "cursor");
    const [lines, result] = await Promise.all([
      conversationLines(sources, chatId),
      conversationEvents(sources, chatId, { limit: 200, cursor }).catch(() => null),
    ]);
    if (!result) {
      ctx.status = 400;
      ctx.body = page(`Conversation ${chatId}`, html`<p>cursor: not one this server gave</p>`);
      return;
    }
    const sends = await conversationSends(sources, chatId, cursor, result);
    const next = result.nextCursor ? `?cursor=${encodeURIComponent(result.nextCursor)}` : null;
    ctx.body = page(
      `Conversation ${chatId}`,
      html`<h2>Ordered destinations</h2>
        ${
          lines.length
            ? html`<ul>
                ${lines.map(
                  (l) =>
                    html`<li>
                      <strong>${l.destination}</strong>:
                      ${l.headEventId ? html`<a href="${eventHref(l.headEventId)}">${l.headEventId}</a>` : `job ${l.headJobId}`}
                      holds the line (${l.headState}): ${l.why}
                    </li>`,
                )}
              </ul>`
            : html`<p class="muted">No ordered destination has a delivery of this conversation in line.</p>`
        }
        <h2>Events and sends, oldest first</h2>
        ${conversationRows(result.events, sends)}
        ${next ? html`<p><a rel="next" href="${chatHref(chatId)}${next}">Later events →</a></p>` : ""}`,
    );
  });

  router.get("/refused", async (ctx) => {
    ctx.type = "text/html; charset=utf-8";
    const reason = Number(one(ctx.query, "reason") ?? NaN);
    const status = Number.isInteger(reason) ? reason : null;
    const refused = await readRefusals(sources.redis, sources.prefix, status, 1_000);
    ctx.body = page(
      "Refused callbacks",
      html`<p class="tabs">
          Reason:
          <a href="/refused">all</a>${REFUSAL_STATUSES.map((s) => html`<a href="/refused?reason=${s}">${s}</a>`)}
        </p>
        <p class="muted">The last 1 000 per status the ingress refused; every token removed from the bodies.</p>
        ${
          refused.length
            ? html`<table class="refused">
                <thead>
                  <tr>
                    <th>At</th>
                    <th>Status</th>
                    <th>Reason</th>
                    <th>Source</th>
                    <th>Path</th>
                    <th>Body (first 1 KB)</th>
                  </tr>
                </thead>
                <tbody>
                  ${refused.map(
                    (r) =>
                      html`<tr>
                        <td>${time(r.at)}</td>
                        <td>${r.status}</td>
                        <td>${r.reason}</td>
                        <td>${r.ip}</td>
                        <td>${r.path}</td>
                        <td>
                          ${r.bodyExcerpt === null ? html`<span class="muted">not read</span>` : html`<pre>${r.bodyExcerpt}</pre>`}
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
            : html`<p class="muted">None kept.</p>`
        }`,
    );
  });

  router.get("/replays", (ctx) => {
    ctx.type = "text/html; charset=utf-8";
    const value = (name: string) => one(ctx.query, name) ?? "";
    ctx.body = page(
      "Bulk replay of failed deliveries",
      html`<form id="bulk" class="filters" onsubmit="return false">
          <label
            >messageId, event id, chatId, contactId, roomId or botWxid<input name="q" value="${value("q")}"
          /></label>
          <label
            >Destination<select name="destination">
              <option value="">any</option>
              ${destinations.map((d) => html`<option ${value("destination") === d ? "selected" : ""}>${d}</option>`)}
            </select></label
          >
          <label>Type or kind<input name="type" value="${value("type")}" /></label>
          <label>Failed since<input name="since" value="${value("since")}" placeholder="2h, ISO, epoch ms" /></label>
          <label>Until<input name="until" value="${value("until")}" /></label>
          <label
            >Webhook-id<select name="asNew">
              <option value="false">keep (a retry)</option>
              <option value="true">new (as new)</option>
            </select></label
          >
          <button type="button" id="bulk-count">Count</button>
          ${options.readOnly ? "" : html`<button type="button" id="bulk-run" disabled>Replay them</button><button type="button" id="bulk-cancel" disabled>Cancel</button>`}
        </form>
        <p><progress id="progress" value="0" max="1"></progress></p>`,
    );
  });

  return router;
}
