/**
 * Text from a capture (paths, SQL, cache keys, process names, log lines) can hold anything a
 * client or a damaged file put there: escape sequences that recolour or clear a terminal,
 * carriage returns that overwrite a line, NUL bytes, bidirectional overrides that reorder what
 * is shown. Everything printed for people passes through `terminalSafe`.
 */

/** C0 controls and DEL, C1 controls, and the bidirectional formatting characters. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_KEEPING_NEWLINES = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function visible(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control character, escape sequence introducer and bidirectional override
 * shown as a visible escape (`\x1b`, `\x00`, `\r`, `\u202e`); newlines are kept when `multiline`
 * (rendered trees, reports) and escaped otherwise (one-line warnings). Pure.
 */
export function terminalSafe(text: string, multiline = false): string {
  return text.replace(multiline ? UNSAFE_KEEPING_NEWLINES : UNSAFE, visible);
}
