/**
 * The local host's voice: turns the job's log events into sentences a newcomer can follow, step by step.
 * Fields pass the same allow-list as every other logger.
 */
import { sanitizeLogFields } from '../core/log';
import type { LogValue, Logger } from '../core/ports';

type Fields = Record<string, LogValue>;

const SENTENCES: Record<string, (f: Fields) => string> = {
  'file.claimed': (f) => `Picked up a new file for ${f.source ?? 'an unknown source'} (${f.bytes} bytes)`,
  'file.staged': (f) => `Validated ${f.rows} rows; staged as ${f.uploadName} (the current snapshot of ${f.source})`,
  'file.rejected': (f) => `Quarantined a file of ${f.source}: ${f.code}. The original and report.json/report.csv are in rejected/${f.source}/`,
  'review.request.recorded': (f) => `Review instance ${f.reviewInstanceId} needs the data of ${f.source} before ${f.deadline} (learned from the ${f.trigger})`,
  'fulfil.started': (f) => `Delivering ${f.files} file(s), ${f.bytes} bytes, to review instance ${f.reviewInstanceId}`,
  'upload.session.created': (f) => `Opened upload session ${f.uploadSessionId}`,
  'upload.session.adopted': (f) => `Found the instance's existing upload session ${f.uploadSessionId} (${f.sessionStatus})`,
  'upload.file.sent': (f) => `Uploaded ${f.uploadName} (${f.bytes} bytes)`,
  'upload.file.alreadyPresent': (f) => `${f.uploadName} is already in the session; not sent again`,
  'upload.session.completed': (f) => `Graph reads the upload session back as complete (${f.files} file(s))`,
  'review.request.fulfilled': (f) => `Done: review instance ${f.reviewInstanceId} has its data; evidence in archive/${f.source}/${f.reviewInstanceId}/`,
  'graph.throttled': (f) => `Graph asked us to slow down; waiting ${f.waitMs} ms`,
};

export function createNarrator(write: (line: string) => void, options: { verbose?: boolean; now?: () => number } = {}): Logger & { on(event: string, listener: (fields: Fields) => void): void } {
  const listeners = new Map<string, ((fields: Fields) => void)[]>();
  const now = options.now ?? Date.now;
  return {
    on(event, listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
    },
    log(level, event, fields) {
      const f = sanitizeLogFields(fields);
      const time = new Date(now()).toISOString().slice(11, 19);
      const sentence = SENTENCES[event];
      if (sentence) write(`[${time}] ${sentence(f)}`);
      else if (level === 'warn' || level === 'error') write(`[${time}] ${level === 'error' ? 'ERROR' : 'warning'}: ${event} ${JSON.stringify(f)}`);
      else if (options.verbose) write(`[${time}] ${event} ${JSON.stringify(f)}`);
      for (const listener of listeners.get(event) ?? []) listener(f);
    },
  };
}
