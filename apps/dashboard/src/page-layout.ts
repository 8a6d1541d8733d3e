import { html, type SafeHtml } from "./html.ts";

/** Every inspector page: UTF-8 (Chinese text), the links (Bull Board among them), one local style and script. */
export function page(title: string, body: SafeHtml): string {
  return `<!doctype html>${
    html`<html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Yuju Relay</title>
        <link rel="stylesheet" href="/inspector/style.css" />
      </head>
      <body>
        <header>
          <strong>Yuju Relay</strong>
          <nav>
            <a href="/events">Events</a> · <a href="/replays">Bulk replay</a> · <a href="/refused">Refused</a> ·
            <a href="/">Bull Board (queues)</a>
          </nav>
        </header>
        <main>
          <h1>${title}</h1>
          <p id="message" role="status"></p>
          ${body}
        </main>
        <script src="/inspector/page.js"></script>
      </body>
    </html>`.text
  }`;
}
