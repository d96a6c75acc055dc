// A level-triggered work queue of `namespace/name` keys, client-go style: a key is queued at most once; a key being
// processed is never handed to a second worker — an add meanwhile marks it dirty and it is queued again when the
// worker is done; failures back off per key (exponential, jittered, capped); successes forget the key's failures;
// `requeueAfter` schedules a later look (the drift timer). A bounded number of workers drain it.

export interface ReconcileResult {
  /** Look at this key again after this many milliseconds (no backoff). */
  readonly requeueAfterMs?: number;
}

export interface QueueMetrics {
  onAdd?(): void;
  onRetry?(): void;
  onDepth?(depth: number): void;
  onQueueDuration?(seconds: number): void;
  onWorkDuration?(seconds: number, outcome: 'success' | 'error' | 'requeue_after'): void;
  onActiveWorkers?(active: number): void;
}

export interface WorkQueueOptions {
  readonly concurrency: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly random?: () => number;
  readonly metrics?: QueueMetrics;
  readonly onError?: (key: string, error: unknown) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Map<string, number>(); // key → time it was queued (ms)
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: (() => void)[] = [];
  private readonly options: Required<Omit<WorkQueueOptions, 'metrics' | 'onError'>> & Pick<WorkQueueOptions, 'metrics' | 'onError'>;
  private stopping = false;
  private workers: Promise<void>[] = [];
  private active = 0;

  constructor(options: WorkQueueOptions) {
    this.options = { baseDelayMs: 1000, maxDelayMs: 60_000, random: Math.random, ...options };
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Queue the key now (deduplicated). */
  add(key: string): void {
    if (this.stopping) return;
    const pending = this.timers.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.timers.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.set(key, Date.now());
    this.queue.push(key);
    this.options.metrics?.onAdd?.();
    this.options.metrics?.onDepth?.(this.queue.length);
    this.waiters.shift()?.();
  }

  /** Queue the key after a delay; an earlier schedule wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopping) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Queue the key after its next backoff delay: base·2^failures, half jittered, capped. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const ceiling = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** n);
    const delay = Math.round(ceiling / 2 + (this.options.random() * ceiling) / 2);
    this.options.metrics?.onRetry?.();
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopping) {
      const key = this.queue.shift();
      if (key !== undefined) {
        const since = this.queued.get(key) ?? Date.now();
        this.queued.delete(key);
        this.options.metrics?.onDepth?.(this.queue.length);
        this.options.metrics?.onQueueDuration?.((Date.now() - since) / 1000);
        return key;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return undefined;
  }

  /** Starts the workers; each takes a key, runs the handler, and files the outcome. */
  start(handler: (key: string) => Promise<ReconcileResult>): void {
    for (let i = 0; i < this.options.concurrency; i++) {
      this.workers.push(
        (async () => {
          for (;;) {
            const key = await this.next();
            if (key === undefined) return;
            this.processing.add(key);
            this.active++;
            this.options.metrics?.onActiveWorkers?.(this.active);
            const started = Date.now();
            let outcome: 'success' | 'error' | 'requeue_after' = 'success';
            try {
              const result = await handler(key);
              this.forget(key);
              if (result.requeueAfterMs !== undefined) {
                outcome = 'requeue_after';
                this.addAfter(key, result.requeueAfterMs);
              }
            } catch (error) {
              outcome = 'error';
              this.options.onError?.(key, error);
              this.addRateLimited(key);
            } finally {
              this.active--;
              this.options.metrics?.onActiveWorkers?.(this.active);
              this.options.metrics?.onWorkDuration?.((Date.now() - started) / 1000, outcome);
              this.processing.delete(key);
              if (this.dirty.delete(key)) this.add(key);
            }
          }
        })(),
      );
    }
  }

  /** Stops handing out keys and waits for the reconciles in flight (their cloud calls) to finish. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const wake of this.waiters.splice(0)) wake();
    await Promise.all(this.workers);
  }
}
