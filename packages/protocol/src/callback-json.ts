import { isSafeNumber, parse as parseLossless } from "lossless-json";

/**
 * The deepest nesting of objects and arrays a callback body may have. The platform's bodies are
 * four levels deep; 64 leaves room for any payload it may add, and stays far below what
 * `JSON.stringify` (in BullMQ, in delivery, in the logs) can recurse through without overflowing
 * the stack (a few thousand levels).
 */
export const MAX_NESTING = 64;

/**
 * A number JSON.parse may round: 16 or more digits (a double holds every integer of up to 15
 * exactly), or an exponent. Its first digit follows neither a letter, a digit, a quote nor a dot;
 * within a number only the first digit does, so no number is missed. Ids the platform sends as
 * strings ("7881300555512345") and hex ids with an `e` in them follow a quote or an alphanumeric and
 * do not match. Text such as "tel: 1234567890123456" does: it only costs its body the slower parser.
 * One native scan, about a third of JSON.parse's time on the platform's bodies.
 */
const INEXACT_NUMBER = /(?<![\w".])(?:\d[\d.]{15}|\d[\d.]*[eE])/;

export type ParsedCallbackJson =
  { ok: true; body: unknown } | { ok: false; problem: "malformed" | "too_deep"; error: string };

// Character codes the depth scan looks at.
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** More opening brackets than `limit` in the whole text (strings included): only then can it nest deeper. */
function hasMoreBracketsThan(text: string, limit: number): boolean {
  let count = 0;
  for (const bracket of ["{", "["]) {
    for (let i = text.indexOf(bracket); i !== -1; i = text.indexOf(bracket, i + 1)) if (++count > limit) return true;
  }
  return false;
}

/** Index of the quote that closes the string opened at `open`, or the text's length when none does. */
function endOfString(text: string, open: number): number {
  let quote = open;
  for (;;) {
    quote = text.indexOf('"', quote + 1);
    if (quote === -1) return text.length; // unterminated: JSON.parse says so
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
}

/** How deep objects and arrays nest, brackets inside strings not counted. */
function nestingDepth(text: string): number {
  let depth = 0;
  let maxDepth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = endOfString(text, i);
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) maxDepth = Math.max(maxDepth, ++depth);
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return maxDepth;
}

/**
 * Numbers a double holds exactly stay numbers; any other (an id beyond 2^53, 1e999) becomes the
 * string of exactly the digits sent, so that no id loses a digit on its way to an event.
 */
const exactNumber = (digits: string): number | string => (isSafeNumber(digits) ? Number(digits) : digits);

/**
 * Parses a callback body. JSON.parse for nearly every body; lossless-json (which keeps `__proto__`
 * as an own data key, as JSON.parse does) only for a body that may hold a number JSON.parse could
 * round. Both checks cost a fraction of JSON.parse itself on the platform's bodies (native indexOf
 * and one regular expression). A duplicate key keeps its last value, as JSON.parse does. Bodies nested deeper than
 * MAX_NESTING are refused before any parser recurses into them.
 */
export function parseCallbackJson(text: string): ParsedCallbackJson {
  // The platform's bodies hold a dozen brackets: the exact depth is only worked out past 64.
  const depth = hasMoreBracketsThan(text, MAX_NESTING) ? nestingDepth(text) : 0;
  if (depth > MAX_NESTING) {
    return {
      ok: false,
      problem: "too_deep",
      error: `body nests objects and arrays ${depth} levels deep; at most ${MAX_NESTING} are accepted`,
    };
  }
  try {
    const body = INEXACT_NUMBER.test(text)
      ? parseLossless(text, null, { parseNumber: exactNumber, onDuplicateKey: ({ newValue }) => newValue })
      : (JSON.parse(text) as unknown);
    return { ok: true, body };
  } catch (error) {
    return { ok: false, problem: "malformed", error: `body is not JSON: ${(error as Error).message}` };
  }
}
