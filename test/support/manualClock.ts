import { AbortedError } from '../../src/core/errors';
import type { Clock } from '../../src/core/ports';

/**
 * A clock that only moves when told to. `sleep` records the requested wait and resolves at once after advancing
 * time by it, so a retry schedule can be asserted exactly without any real waiting.
 */
export class ManualClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(private current = Date.UTC(2026, 10, 23, 9, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new AbortedError('wait');
    this.sleeps.push(ms);
    this.current += ms;
  }
}
