/** The production {@link Clock}: real time, abortable sleeps. */
import { AbortedError } from './errors';
import type { Clock } from './ports';

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortedError('wait'));
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      const onAbort = () => {
        clearTimeout(timer);
        reject(new AbortedError('wait'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};
