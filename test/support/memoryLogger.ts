import { sanitizeLogFields } from '../../src/core/log';
import type { LogFields, LogLevel, Logger } from '../../src/core/ports';

export interface LogRecord {
  level: LogLevel;
  event: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps sanitised records in memory, for assertions (and for the no-personal-data canary). */
export class MemoryLogger implements Logger {
  readonly records: LogRecord[] = [];
  log(level: LogLevel, event: string, fields?: LogFields): void {
    this.records.push({ level, event, fields: sanitizeLogFields(fields) });
  }
  events(): string[] {
    return this.records.map((r) => r.event);
  }
  text(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n');
  }
}
