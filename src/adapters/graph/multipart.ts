/**
 * A streamed multipart/form-data body for `uploadFile`: one part named `file`, the CSV's name as filename,
 * `application/octet-stream` (contract §5.4). The length is known in advance (so the request carries a
 * Content-Length, not chunked encoding), and the bytes flow from the source with backpressure: a gigabyte file
 * never sits in memory.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { SyncError } from '../../core/errors';
import type { ReopenableSource } from '../../core/ports';

export interface MultipartBody {
  contentType: string;
  contentLength: number;
  /** A fresh body stream each call: a retry re-opens the source from its first byte. */
  open(signal?: AbortSignal, onBytes?: (sent: number) => void): Promise<Readable>;
}

/**
 * Escapes a filename for the Content-Disposition header as the WHATWG FormData algorithm does: `"` and line breaks
 * become percent-escapes, so no name can break out of the quoted string or inject a header (reliability E5).
 */
export function escapeFilename(name: string): string {
  return name.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

export function createMultipartBody(source: ReopenableSource, boundary = `----arsync${randomBytes(16).toString('hex')}`): MultipartBody {
  const head = Buffer.from(
    `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="file"; filename="${escapeFilename(source.name)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
    'utf8',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: head.length + source.size + tail.length,
    async open(signal, onBytes) {
      const content = await source.open(signal);
      async function* parts(): AsyncGenerator<Buffer> {
        yield head;
        let sent = 0;
        for await (const chunk of content as AsyncIterable<Buffer | string>) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          sent += bytes.length;
          if (sent > source.size) break;
          onBytes?.(sent);
          yield bytes;
        }
        if (sent !== source.size) {
          content.destroy();
          // The source changed under us; sending a body of another length would be refused mid-way anyway.
          throw new SyncError('upload.sourceSizeChanged', `The content of ${source.name} does not have the expected size`, 'fatal', {
            file: source.name,
          });
        }
        yield tail;
      }
      return Readable.from(parts(), { objectMode: false });
    },
  };
}
