// A supervised informer over SecurityGroupRestores. client-node's ListWatch stops on any watch error other than
// 410/timeout, and watches have been seen to stall silently; so this restarts it with capped backoff after an error,
// restarts it when nothing has been heard for a while (watchdog), and relists periodically, handing every object to
// `onResync` as the safety-net drift timer.

import * as k8s from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, PLURAL } from '../api/types.ts';
import type { SecurityGroupRestore } from '../api/types.ts';
import type { KubeClient } from './kube.ts';

export interface InformerHandlers {
  readonly onAdd: (obj: SecurityGroupRestore) => void;
  readonly onUpdate: (obj: SecurityGroupRestore, old: SecurityGroupRestore | undefined) => void;
  readonly onDelete: (obj: SecurityGroupRestore) => void;
  readonly onResync: (objects: readonly SecurityGroupRestore[]) => void;
}

export interface InformerOptions {
  /** Namespaces to watch; empty = all. */
  readonly namespaces: readonly string[];
  readonly labelSelector?: string;
  readonly relistIntervalMs: number;
  readonly stallTimeoutMs: number;
  readonly log: (level: 'info' | 'warn', message: string, meta?: Record<string, unknown>) => void;
}

type Watched = {
  informer: k8s.Informer<SecurityGroupRestore> & k8s.ObjectCache<SecurityGroupRestore>;
  namespace: string | undefined;
  lastHeard: number;
  /** Consecutive failed (re)starts; reset by a start that raised no error. */
  failures: number;
  errors: number;
  restarting: boolean;
};

export class RestoreInformer {
  private readonly kube: KubeClient;
  private readonly handlers: InformerHandlers;
  private readonly options: InformerOptions;
  private readonly watched: Watched[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private synced = false;
  private lastError: string | undefined;

  constructor(kube: KubeClient, handlers: InformerHandlers, options: InformerOptions) {
    this.kube = kube;
    this.handlers = handlers;
    this.options = options;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** undefined when healthy; otherwise why the watch is considered dead. */
  health(): string | undefined {
    const dead = this.watched.filter((w) => w.failures >= 5);
    return dead.length > 0 ? `watch of ${dead.map((w) => w.namespace ?? 'all namespaces').join(', ')} keeps failing: ${this.lastError ?? ''}` : undefined;
  }

  list(): SecurityGroupRestore[] {
    return this.watched.flatMap((w) => w.informer.list());
  }

  async start(): Promise<void> {
    const scopes = this.options.namespaces.length > 0 ? this.options.namespaces : [undefined];
    for (const namespace of scopes) {
      const path = namespace ? `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${PLURAL}` : `/apis/${API_GROUP}/${API_VERSION}/${PLURAL}`;
      const listFn = async () => {
        const list = await this.kube.listRestores(namespace, this.options.labelSelector);
        return { apiVersion: 'v1', kind: 'List', metadata: list.metadata ?? {}, items: list.items } as k8s.KubernetesListObject<SecurityGroupRestore>;
      };
      const informer = k8s.makeInformer<SecurityGroupRestore>(this.kube.kubeConfig, path, listFn as unknown as k8s.ListPromise<SecurityGroupRestore>, this.options.labelSelector);
      const w: Watched = { informer, namespace, lastHeard: Date.now(), failures: 0, errors: 0, restarting: false };
      const heard = () => {
        w.lastHeard = Date.now();
      };
      informer.on('add', (obj) => { heard(); this.handlers.onAdd(obj); });
      informer.on('update', (obj) => { heard(); this.handlers.onUpdate(obj, undefined); });
      informer.on('delete', (obj) => { heard(); this.handlers.onDelete(obj); });
      informer.on('connect', heard);
      informer.on('error', (error: unknown) => {
        if (this.stopped) return; // our own stop() aborts the watch
        this.lastError = String((error as Error)?.message ?? error);
        w.failures++;
        w.errors++;
        this.options.log('warn', 'watch failed; restarting', { namespace: namespace ?? '*', failures: w.failures, error: this.lastError });
        this.restart(w);
      });
      this.watched.push(w);
      await informer.start();
      heard();
    }
    this.synced = true;
    this.timers.push(setInterval(() => this.handlers.onResync(this.list()), this.options.relistIntervalMs).unref());
    this.timers.push(
      setInterval(() => {
        for (const w of this.watched) {
          if (Date.now() - w.lastHeard > this.options.stallTimeoutMs) {
            this.options.log('warn', 'watch silent for too long; restarting', { namespace: w.namespace ?? '*', silentMs: Date.now() - w.lastHeard });
            w.lastHeard = Date.now();
            this.restart(w, true);
          }
        }
      }, Math.min(5_000, this.options.stallTimeoutMs)).unref(),
    );
  }

  private restart(w: Watched, stopFirst = false): void {
    if (this.stopped || w.restarting) return;
    w.restarting = true;
    const delay = stopFirst ? 0 : Math.min(30_000, 1_000 * 2 ** Math.max(0, w.failures - 1));
    setTimeout(() => {
      void (async () => {
        if (stopFirst) await w.informer.stop().catch(() => undefined);
        // From here a failure is reported through the informer's error callback, which schedules the next restart.
        w.restarting = false;
        if (this.stopped) return;
        const errorsBefore = w.errors;
        try {
          await w.informer.start();
        } catch (error) {
          this.lastError = String((error as Error)?.message ?? error);
          w.failures++;
          this.restart(w);
          return;
        }
        if (w.errors !== errorsBefore) return;
        w.failures = 0;
        w.lastHeard = Date.now();
        // A restart may have missed events: reconcile everything it lists.
        this.handlers.onResync(w.informer.list());
      })();
    }, delay).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.watched.map((w) => w.informer.stop().catch(() => undefined)));
  }
}
