import { isSafeNumber, parse as parseLossless } from "lossless-json";

/**
 * The deepest nesting of objects and arrays a callback body may have. The platform's bodies are
 * four levels deep; 64 leaves room for any payload it may add, and stays far below what
 * `JSON.stringify` (in BullMQ, in delivery, in the logs) can recurse through without overflowing
 * the stack (a few thousand levels).
 */
export const MAX_NESTING = 64;

// A double holds every integer of up to 15 digits exactly; a number written with more digits (or
// with an exponent) may lose some in JSON.parse. Only bodies holding one take the slower parser.
const EXACT_DIGITS = 15;

export type ParsedCallbackJson =
  { ok: true; body: unknown } | { ok: false; problem: "malformed" | "too_deep"; error: string };

interface TextShape {
  depth: number;
  /** A number a double may not hold exactly: more than 15 digits, or an exponent. */
  inexactNumber: boolean;
}

// Character codes the scan looks at.
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const ZERO = 48;
const NINE = 57;
const DOT = 46;
const PLUS = 43;
const MINUS = 45;
const LOWER_E = 101;
const UPPER_E = 69;

/** One pass over the text, outside strings: how deep it nests, and whether a number may lose digits. */
function scanJsonText(text: string): TextShape {
  let depth = 0;
  let maxDepth = 0;
  let inString = false;
  let inNumber = false;
  let digits = 0;
  let inexactNumber = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c >= ZERO && c <= NINE) {
      if (!inNumber) {
        inNumber = true;
        digits = 0;
      }
      if (++digits > EXACT_DIGITS) inexactNumber = true;
    } else if (inNumber && (c === LOWER_E || c === UPPER_E)) {
      inexactNumber = true;
    } else if (inNumber && (c === DOT || c === PLUS || c === MINUS)) {
      // still the same number
    } else {
      inNumber = false;
      if (c === QUOTE) inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) maxDepth = Math.max(maxDepth, ++depth);
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    }
  }
  return { depth: maxDepth, inexactNumber };
}

/**
 * Numbers a double holds exactly stay numbers; any other (an id beyond 2^53, 1e999) becomes the
 * string of exactly the digits sent, so that no id loses a digit on its way to an event.
 */
const exactNumber = (digits: string): number | string => (isSafeNumber(digits) ? Number(digits) : digits);

/**
 * Parses a callback body. JSON.parse for nearly every body; lossless-json (which keeps `__proto__`
 * as an own data key, as JSON.parse does) only for a body holding a number that JSON.parse could
 * round. A duplicate key keeps its last value, as JSON.parse does. Bodies nested deeper than
 * MAX_NESTING are refused before any parser recurses into them.
 */
export function parseCallbackJson(text: string): ParsedCallbackJson {
  const shape = scanJsonText(text);
  if (shape.depth > MAX_NESTING) {
    return {
      ok: false,
      problem: "too_deep",
      error: `body nests objects and arrays ${shape.depth} levels deep; at most ${MAX_NESTING} are accepted`,
    };
  }
  try {
    const body = shape.inexactNumber
      ? parseLossless(text, null, { parseNumber: exactNumber, onDuplicateKey: ({ newValue }) => newValue })
      : (JSON.parse(text) as unknown);
    return { ok: true, body };
  } catch (error) {
    return { ok: false, problem: "malformed", error: `body is not JSON: ${(error as Error).message}` };
  }
}
