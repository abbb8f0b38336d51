/**
 * The proxy's request-id rule, the same as the `map` in nginx.conf.template: a client's
 * X-Request-ID is kept if it is 32 lowercase hex, or a lowercase UUID (dashes dropped);
 * otherwise a fresh id replaces it.
 */
const HEX32 = /^[0-9a-f]{32}$/;
const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;

export interface RequestIdChoice {
  /** The id used from here on: 32 lowercase hex. */
  readonly id: string;
  /** True when the client sent a header that was not kept (absent headers are not 'replaced'). */
  readonly replaced: boolean;
}

/** Picks the request id for a client header value; `generate` supplies a fresh 32-hex id. */
export function chooseRequestId(header: string | readonly string[] | undefined, generate: () => string): RequestIdChoice {
  // Like nginx's $http_x_request_id, only the first of repeated headers counts.
  const value = Array.isArray(header) ? header[0] : (header as string | undefined);
  if (value === undefined || value === '') return { id: generate(), replaced: false };
  if (HEX32.test(value)) return { id: value, replaced: false };
  const m = UUID.exec(value);
  if (m) return { id: m.slice(1).join(''), replaced: false };
  return { id: generate(), replaced: true };
}

/** True for a well-formed request id (32 lowercase hex). */
export function isRequestId(value: string): boolean {
  return HEX32.test(value);
}
