import { expect } from 'chai';
import { WorkQueue } from '../../../src/controller/queue.ts';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('deduplicates a key queued several times', async () => {
    const q = new WorkQueue({ concurrency: 2 });
    const seen: string[] = [];
    q.add('a'); q.add('a'); q.add('b'); q.add('a');
    q.start(async (key) => { seen.push(key); return {}; });
    await tick(20);
    await q.shutdown();
    expect(seen).to.deep.equal(['a', 'b']);
  });

  it('never hands one key to two workers, and runs it again if it was added meanwhile', async () => {
    const q = new WorkQueue({ concurrency: 4 });
    let inFlight = 0;
    let maxInFlight = 0;
    let runs = 0;
    let release: () => void = () => undefined;
    q.start(async () => {
      runs++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (runs === 1) await new Promise<void>((r) => (release = r));
      inFlight--;
      return {};
    });
    q.add('k');
    await tick();
    q.add('k'); q.add('k');
    await tick();
    expect(runs).to.equal(1);
    release();
    await tick(20);
    await q.shutdown();
    expect(maxInFlight).to.equal(1);
    expect(runs).to.equal(2);
  });

  it('backs off per key after failures and forgets the count after a success', async () => {
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 10, maxDelayMs: 40, random: () => 1 });
    let calls = 0;
    q.start(async () => {
      calls++;
      if (calls <= 3) throw new Error('transient');
      return {};
    });
    q.add('k');
    await tick(200);
    expect(calls).to.equal(4);
    expect(q.failureCount('k')).to.equal(0);
    await q.shutdown();
  });

  it('caps the backoff delay', () => {
    const q = new WorkQueue({ concurrency: 1, baseDelayMs: 1000, maxDelayMs: 60_000, random: () => 1 });
    const delays = Array.from({ length: 10 }, () => q.addRateLimited('k'));
    expect(delays.slice(0, 4)).to.deep.equal([1000, 2000, 4000, 8000]);
    expect(Math.max(...delays)).to.equal(60_000);
    void q.shutdown();
  });

  it('honours requeueAfter and finishes in-flight work on shutdown', async () => {
    const q = new WorkQueue({ concurrency: 1 });
    const seen: number[] = [];
    let finished = false;
    q.start(async () => {
      seen.push(Date.now());
      if (seen.length === 1) return { requeueAfterMs: 30 };
      await tick(30);
      finished = true;
      return {};
    });
    q.add('k');
    await tick(45);
    await q.shutdown();
    expect(seen).to.have.length(2);
    expect(finished).to.equal(true);
  });
});
