/**
 * Scripted faults and the Retry-After memory behind early-retry detection (reliability B1).
 */
import { randomInt } from 'node:crypto';
import type { FaultRule } from './types';

/** A rule as stored: compiled path, remaining count, own PRNG. */
export interface ActiveFault {
  id: string;
  rule: FaultRule;
  pattern: RegExp;
  /** Remaining firings; `Infinity` for unlimited. */
  remaining: number;
  random: () => number;
}

/** mulberry32: tiny, fast and good enough to make a probability run reproducible from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMIT_THEN_FAIL_STATUSES = [500, 502, 503, 504];

/** Checks a rule and throws a plain Error with a reason when it cannot work. */
export function validateFaultRule(rule: FaultRule): void {
  if (typeof rule !== 'object' || rule === null) throw new Error('A fault rule must be an object.');
  if (typeof rule.path !== 'string') throw new Error('A fault rule needs a path (a RegExp source).');
  new RegExp(rule.path); // throws on a bad pattern
  if (!['status', 'throttle', 'commitThenFail', 'latency', 'reset', 'resetAfterCommit'].includes(rule.kind)) throw new Error(`Unknown fault kind '${String(rule.kind)}'.`);
  if (rule.kind === 'commitThenFail' && rule.status !== undefined && !COMMIT_THEN_FAIL_STATUSES.includes(rule.status)) {
    throw new Error('commitThenFail takes status 500, 502, 503 or 504.');
  }
  if (rule.status !== undefined && (!Number.isInteger(rule.status) || rule.status < 100 || rule.status > 599)) throw new Error('status must be an HTTP status code.');
  if (rule.kind === 'latency' && (typeof rule.latencyMs !== 'number' || rule.latencyMs < 0)) throw new Error('latency needs latencyMs >= 0.');
  if (rule.probability !== undefined && (rule.probability < 0 || rule.probability > 1)) throw new Error('probability must be within 0..1.');
  // A malformed Retry-After is allowed on purpose (clients must survive one); it just cannot flag early retries.
}

/** The scripted faults of one emulator. */
export class FaultTable {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  add(rule: FaultRule): string {
    validateFaultRule(rule);
    const id = `fault-${this.nextId++}`;
    const unlimited = rule.times === undefined ? rule.probability !== undefined : rule.times < 0;
    this.faults.push({
      id,
      rule: { ...rule },
      pattern: new RegExp(rule.path),
      remaining: unlimited ? Infinity : (rule.times ?? 1),
      random: mulberry32(rule.seed ?? randomInt(0, 2 ** 31)),
    });
    return id;
  }

  clear(): void {
    this.faults = [];
  }

  /**
   * Picks the faults for a request: the first firing `latency` rule and the first firing rule of any other kind.
   * A rule whose probability roll fails does not use up one of its `times`.
   */
  pick(method: string, path: string): { latency?: FaultRule; fault?: FaultRule } {
    const picked: { latency?: FaultRule; fault?: FaultRule } = {};
    for (const active of this.faults) {
      if (active.remaining <= 0) continue;
      const { rule } = active;
      if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (!active.pattern.test(path)) continue;
      const isLatency = rule.kind === 'latency';
      if (isLatency ? picked.latency : picked.fault) continue;
      if (rule.probability !== undefined && active.random() >= rule.probability) continue;
      active.remaining--;
      if (isLatency) picked.latency = rule;
      else picked.fault = rule;
    }
    return picked;
  }
}

/**
 * Renders a rule's Retry-After at response time. `http-date:<ms>` becomes an HTTP-date that far in the future.
 */
export function renderRetryAfter(raw: string, realNow: number): string {
  const match = /^http-date:(\d+)$/.exec(raw);
  return match ? new Date(realNow + Number(match[1])).toUTCString() : raw;
}

/**
 * The real instant (ms) a rendered Retry-After value denotes, or undefined if it is not a valid value.
 * Delta-seconds may be fractional here (`2.128`), as Graph's own values sometimes are; an HTTP-date has 1 s resolution.
 */
export function retryAfterInstant(value: string, realNow: number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return realNow + Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : date;
}

/** Remembers, per method and path, until when a 429's Retry-After asked callers to wait. */
export class RetryAfterMemory {
  private readonly notBefore = new Map<string, number>();

  private static key(method: string, path: string): string {
    return `${method.toUpperCase()} ${path}`;
  }

  remember(method: string, path: string, instant: number): void {
    this.notBefore.set(RetryAfterMemory.key(method, path), instant);
  }

  /** The instant a request to (method, path) arriving at `realTime` should have waited for, when it came too early. */
  earlyUntil(method: string, path: string, realTime: number): number | undefined {
    const until = this.notBefore.get(RetryAfterMemory.key(method, path));
    return until !== undefined && realTime < until ? until : undefined;
  }

  clear(): void {
    this.notBefore.clear();
  }
}
