// Prometheus metrics under controller-runtime's names (so existing dashboards and alerts work), plus ECS calls by
// action and error code. One registry per controller process.

import client from 'prom-client';

export const CONTROLLER_NAME = 'securitygrouprestore';

export class ControllerMetrics {
  readonly registry = new client.Registry();
  readonly reconcileTotal: client.Counter<'controller' | 'result'>;
  readonly reconcileErrors: client.Counter<'controller'>;
  readonly reconcileTime: client.Histogram<'controller'>;
  readonly maxConcurrentReconciles: client.Gauge<'controller'>;
  readonly activeWorkers: client.Gauge<'controller'>;
  readonly queueDepth: client.Gauge<'name'>;
  readonly queueAdds: client.Counter<'name'>;
  readonly queueRetries: client.Counter<'name'>;
  readonly queueDuration: client.Histogram<'name'>;
  readonly workDuration: client.Histogram<'name'>;
  readonly ecsCalls: client.Counter<'action' | 'code'>;
  readonly leader: client.Gauge<'name'>;

  constructor() {
    const registers = [this.registry];
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.reconcileTotal = new client.Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers });
    this.reconcileErrors = new client.Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers });
    this.reconcileTime = new client.Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller', labelNames: ['controller'], buckets, registers });
    this.maxConcurrentReconciles = new client.Gauge({ name: 'controller_runtime_max_concurrent_reconciles', help: 'Maximum number of concurrent reconciles per controller', labelNames: ['controller'], registers });
    this.activeWorkers = new client.Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers });
    this.queueDepth = new client.Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers });
    this.queueAdds = new client.Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers });
    this.queueRetries = new client.Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers });
    this.queueDuration = new client.Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested', labelNames: ['name'], buckets, registers });
    this.workDuration = new client.Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes', labelNames: ['name'], buckets, registers });
    this.ecsCalls = new client.Counter({ name: 'sgrestore_ecs_calls_total', help: 'ECS API calls by action and result code (ok for success)', labelNames: ['action', 'code'], registers });
    this.leader = new client.Gauge({ name: 'leader_election_master_status', help: 'Whether this replica is the leader (1) or not (0)', labelNames: ['name'], registers });
    client.collectDefaultMetrics({ register: this.registry });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
