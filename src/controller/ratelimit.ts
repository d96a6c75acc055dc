// A token bucket per credential toward ECS: ECS flow control (Throttling.User) is per account, so restores sharing
// credentials share a budget, and one busy tenant cannot starve another's.

export class TokenBuckets {
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly buckets = new Map<string, { tokens: number; updated: number; chain: Promise<void> }>();

  constructor(ratePerSecond: number, burst = Math.max(1, Math.ceil(ratePerSecond))) {
    if (!(ratePerSecond > 0)) throw new Error('rate must be positive');
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
  }

  /** Resolves when the caller may make one call under this key; callers are served in order. */
  take(key: string): Promise<void> {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.burst, updated: Date.now(), chain: Promise.resolve() };
      this.buckets.set(key, bucket);
    }
    const b = bucket;
    const turn = b.chain.then(async () => {
      const now = Date.now();
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.updated) / 1000) * this.ratePerSecond);
      b.updated = now;
      if (b.tokens < 1) {
        const waitMs = ((1 - b.tokens) / this.ratePerSecond) * 1000;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        b.tokens = 1;
        b.updated = Date.now();
      }
      b.tokens -= 1;
    });
    b.chain = turn;
    return turn;
  }
}
