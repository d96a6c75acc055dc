// Fault injection: decides, per authenticated call, whether the "network" or "gateway" misbehaves.
import type { FaultKind, FaultOptions } from './types.ts';

/** mulberry32: small, fast, deterministic for a given seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultDecision {
  /** What happens before the call reaches the service; undefined = it is served. */
  readonly before?: Exclude<FaultKind, 'applyThenDrop'>;
  /** The call is served, then the connection is destroyed instead of answering. */
  readonly applyThenDrop: boolean;
  /** For throttling: the retry-after hint in ms. */
  readonly retryAfterMs: number;
}

function every(n: number | undefined, count: number): boolean {
  return n !== undefined && n > 0 && count % n === 0;
}

export class FaultInjector {
  private options: FaultOptions = {};
  private calls = 0;
  private mutatingCalls = 0;
  private random: () => number = prng(1);
  private tokens = 0;
  private lastRefill = 0;

  constructor(options: FaultOptions | undefined) {
    this.set(options ?? {});
  }

  /** Replaces the fault options and restarts the counters, the PRNG and the token bucket. */
  set(options: FaultOptions): void {
    this.options = { ...options };
    this.calls = 0;
    this.mutatingCalls = 0;
    this.random = prng(options.randomSeed ?? 1);
    this.tokens = options.rateLimitPerSecond ?? 0;
    this.lastRefill = Date.now();
  }

  get latencyMs(): number {
    return Math.max(0, this.options.latencyMs ?? 0);
  }

  /**
   * Counts the call and decides its fate. Order when several apply: rate limit, drop, 503, throttling, then
   * apply-then-drop. Counters count every authenticated call (replays included), so "every Nth" is exact.
   */
  decide(mutating: boolean): FaultDecision {
    const o = this.options;
    this.calls += 1;
    if (mutating) this.mutatingCalls += 1;
    const retryAfterMs = o.retryAfterMs ?? 50;
    // Draw both numbers on every call so one rate does not shift the other's sequence.
    const dropDraw = this.random();
    const errorDraw = this.random();

    if (o.rateLimitPerSecond !== undefined && o.rateLimitPerSecond > 0) {
      const now = Date.now();
      this.tokens = Math.min(o.rateLimitPerSecond, this.tokens + ((now - this.lastRefill) * o.rateLimitPerSecond) / 1000);
      this.lastRefill = now;
      if (this.tokens < 1) {
        return { before: 'rateLimit', applyThenDrop: false, retryAfterMs: Math.ceil(((1 - this.tokens) * 1000) / o.rateLimitPerSecond) };
      }
      this.tokens -= 1;
    }
    if (every(o.dropEveryNthCall, this.calls) || dropDraw < (o.dropRate ?? 0)) {
      return { before: 'drop', applyThenDrop: false, retryAfterMs };
    }
    if (every(o.errorEveryNthCall, this.calls) || errorDraw < (o.errorRate ?? 0)) {
      return { before: 'error', applyThenDrop: false, retryAfterMs };
    }
    if (mutating && every(o.throttleEveryNthMutating, this.mutatingCalls)) {
      return { before: 'throttle', applyThenDrop: false, retryAfterMs };
    }
    return { applyThenDrop: mutating && every(o.applyThenDropEveryNthMutating, this.mutatingCalls), retryAfterMs };
  }
}
