import { describe, expect, it } from "vitest";
import { html } from "./html.ts";

describe("html", () => {
  it("escapes what it is given, keeps what it built", () => {
    const inner = html`<b>${"<script>"}</b>`;
    expect(html`<p title="${'"x"'}">${inner}${["a&", 1]}</p>`.text).toBe(
      '<p title="&quot;x&quot;"><b>&lt;script&gt;</b>a&amp;1</p>',
    );
  });
});
