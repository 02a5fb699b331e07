/**
 * The log of requests the emulator received, for tests to assert what a client sent, in which order and when.
 */
import type { IncomingMessage } from 'node:http';
import type { RecordedRequest } from './types';

function decodeQuery(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw; // a malformed escape is recorded as sent
  }
}

export class RequestRecorder {
  private records: RecordedRequest[] = [];
  private seq = 0;

  /** Starts a record at arrival; the caller fills in body facts, fault and status as they become known. */
  start(req: IncomingMessage, url: URL, emulatorNow: number, realNow: number): RecordedRequest {
    const length = req.headers['content-length'];
    const clientRequestId = req.headers['client-request-id'];
    const record: RecordedRequest = {
      seq: ++this.seq,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: decodeQuery(url.search.replace(/^\?/, '')),
      headers: {
        contentType: req.headers['content-type'] ?? null,
        contentLength: length === undefined ? null : Number(length),
        clientRequestId: typeof clientRequestId === 'string' ? clientRequestId : null,
        hasAuthorization: req.headers.authorization !== undefined,
      },
      receivedAt: emulatorNow,
      realTime: realNow,
      status: 0,
    };
    this.records.push(record);
    return record;
  }

  /** Deep copies, so that callers cannot alter the log. */
  all(): RecordedRequest[] {
    return this.records.map((r) => structuredClone(r));
  }

  clear(): void {
    this.records = [];
  }
}
