/**
 * What a route returns: the server writes it, or (for `commitThenFail` and `resetAfterCommit` faults) throws it away
 * after the change has been committed.
 */
export type ReplyBody =
  | { kind: 'json'; value: unknown }
  | { kind: 'bytes'; value: Buffer; contentType: string }
  /** Rendered as Graph's error envelope with the request's correlation ids. */
  | { kind: 'error'; code: string; message: string }
  | { kind: 'none' };

export interface Reply {
  status: number;
  body: ReplyBody;
  headers?: Record<string, string>;
}

export function jsonReply(status: number, value: unknown, headers?: Record<string, string>): Reply {
  return headers ? { status, body: { kind: 'json', value }, headers } : { status, body: { kind: 'json', value } };
}

export function emptyReply(status: number): Reply {
  return { status, body: { kind: 'none' } };
}
