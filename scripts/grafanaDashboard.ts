// Writes deploy/grafana/paycenter.json, the Grafana dashboard docker-compose.yml provisions: a
// panel for every paycenter_* metric of src/metrics.ts and the Temporal SDK's worker metrics.
// `npm run dashboard` after changing a panel or a metric; test/unit/deployment.test.ts fails
// while the file differs from what this writes, or a metric has no panel.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export const dashboardPath = path.resolve(__dirname, '../deploy/grafana/paycenter.json');

/** The datasource deploy/grafana/provisioning/datasources/prometheus.yml provisions. */
export const datasourceUid = 'paycenter-prometheus';

interface Query {
  expr: string;
  legend: string;
}

interface Panel {
  title: string;
  description: string;
  kind: 'timeseries' | 'stat' | 'bargauge';
  /** Grafana's unit id: `ops` (per second), `s`, `ms`, `short`. */
  unit: string;
  queries: Query[];
  /** Out of 24 columns; 12 unless said. */
  width?: number;
}

interface Row {
  title: string;
  panels: Panel[];
}

/** Per minute over Grafana's rate window: counters read as events a minute. */
const perMinute = (metric: string, by: string) =>
  `60 * sum by (${by}) (rate(${metric}[$__rate_interval]))`;

/** How many over the dashboard's time range: for what happens a few times a day. */
const overRange = (metric: string, by: string) => `sum by (${by}) (increase(${metric}[$__range]))`;

/** A histogram's quantiles over Grafana's rate window, one series per value of `by` if given. */
const quantiles = (histogram: string, qs: number[], by?: string): Query[] =>
  qs.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${['le', by].filter(Boolean).join(', ')}) (rate(${histogram}_bucket[$__rate_interval])))`,
    legend: `${by ? `{{${by}}} ` : ''}p${Math.round(q * 100)}`,
  }));

const rows: Row[] = [
  {
    title: 'Pay orders',
    panels: [
      {
        title: 'Pay orders created',
        description:
          'New pay orders a minute, by currency (a repeated merchantOrderNo is not counted).',
        kind: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: perMinute('paycenter_pay_orders_created_total', 'currency'),
            legend: '{{currency}}',
          },
        ],
      },
      {
        title: 'Pay orders settled',
        description:
          'Pay orders reaching SUCCEEDED or CLOSED a minute, by status and the channel that paid or last took the order.',
        kind: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: perMinute('paycenter_pay_orders_settled_total', 'status, channel'),
            legend: '{{status}} {{channel}}',
          },
        ],
      },
      {
        title: 'Payment latency (created to paid)',
        description: 'From the pay order created to its payment recorded, all channels.',
        kind: 'timeseries',
        unit: 's',
        queries: quantiles('paycenter_payment_seconds', [0.5, 0.95, 0.99]),
      },
      {
        title: 'Orders needing attention',
        description:
          'Pay orders flagged NeedsAttention now, read from the books at each scrape (every API process reports the same count: max).',
        kind: 'stat',
        unit: 'short',
        queries: [
          { expr: 'max(paycenter_pay_orders_needing_attention)', legend: 'needing attention' },
        ],
      },
      {
        title: 'Requests waiting for their pay order',
        description:
          'Pay, sync and close requests queued behind other requests of the same pay order, by API process (a burst on one order, or an order whose workflow answers slowly).',
        kind: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: 'sum by (instance) (paycenter_pay_order_requests_waiting)',
            legend: '{{instance}}',
          },
        ],
      },
    ],
  },
  {
    title: 'Channel notifications',
    panels: [
      {
        title: 'Webhook acknowledgement latency by channel',
        description:
          "From a channel's notification arriving to our answer (p95, p99), by channel; the channel waits for it.",
        kind: 'timeseries',
        unit: 's',
        queries: quantiles('paycenter_webhook_ack_seconds', [0.95, 0.99], 'channel'),
      },
      {
        title: 'Notifications rejected',
        description:
          'Channel notifications refused a minute: forged (verification failed), unmatched (no channel order of ours), unknown_channel.',
        kind: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: perMinute('paycenter_notifications_rejected_total', 'channel, reason'),
            legend: '{{channel}} {{reason}}',
          },
        ],
      },
    ],
  },
  {
    title: 'Anomalies and refunds',
    panels: [
      {
        title: 'Anomalies made harmless',
        description:
          'Over the time range, by kind: duplicate, late and wrong-amount payments refunded, lost notifications found by query or by reconciliation.',
        kind: 'bargauge',
        unit: 'short',
        queries: [
          { expr: overRange('paycenter_anomalies_harmless_total', 'kind'), legend: '{{kind}}' },
        ],
      },
      {
        title: 'Refunds settled',
        description:
          'Refunds reaching SUCCEEDED or FAILED over the time range, by status and reason (MERCHANT_REQUEST or the anomaly refunded).',
        kind: 'bargauge',
        unit: 'short',
        queries: [
          {
            expr: overRange('paycenter_refunds_settled_total', 'status, reason'),
            legend: '{{status}} {{reason}}',
          },
        ],
      },
    ],
  },
  {
    title: 'Merchant notifications',
    panels: [
      {
        title: 'Merchant notification deliveries',
        description: 'Tries to deliver a merchant notification a minute, by outcome.',
        kind: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: perMinute('paycenter_merchant_notification_deliveries_total', 'outcome'),
            legend: '{{outcome}}',
          },
        ],
      },
      {
        title: 'Merchant notifications given up',
        description:
          'Over the time range: notifications whose retry schedule ran out undelivered (an operator must reach the merchant).',
        kind: 'stat',
        unit: 'short',
        queries: [
          {
            expr: 'sum(increase(paycenter_merchant_notifications_given_up_total[$__range]))',
            legend: 'given up',
          },
        ],
      },
    ],
  },
  {
    title: 'Reconciliation and safety nets',
    panels: [
      {
        title: 'Reconciliation differences',
        description:
          'Differences reconciliation runs found over the time range (a rerun counts again), by channel, class and resolution.',
        kind: 'bargauge',
        unit: 'short',
        queries: [
          {
            expr: overRange(
              'paycenter_reconciliation_differences_total',
              'channel, kind, resolution',
            ),
            legend: '{{channel}} {{kind}} {{resolution}}',
          },
        ],
      },
      {
        title: 'Safety-net findings',
        description:
          'New findings the safety-net scans acted on over the time range, by check and action.',
        kind: 'bargauge',
        unit: 'short',
        queries: [
          {
            expr: overRange('paycenter_safety_net_findings_total', 'check, action'),
            legend: '{{check}} {{action}}',
          },
        ],
      },
    ],
  },
  {
    title: 'Temporal SDK (workers)',
    panels: [
      {
        title: 'Workflow task schedule-to-start latency',
        description:
          'How long workflow tasks wait for a worker (p95, p99, by task queue): rising means too few workers or slots.',
        kind: 'timeseries',
        unit: 'ms',
        queries: quantiles(
          'temporal_workflow_task_schedule_to_start_latency',
          [0.95, 0.99],
          'task_queue',
        ),
      },
      {
        title: 'Activity schedule-to-start latency',
        description: 'How long activities wait for a worker (p95, p99, by task queue).',
        kind: 'timeseries',
        unit: 'ms',
        queries: quantiles(
          'temporal_activity_schedule_to_start_latency',
          [0.95, 0.99],
          'task_queue',
        ),
      },
      {
        title: 'Polls',
        description:
          'Workflow task polls that brought a task or came back empty, and empty activity polls, a minute, by worker replica.',
        kind: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: perMinute('temporal_workflow_task_queue_poll_succeed', 'instance'),
            legend: 'workflow task {{instance}}',
          },
          {
            expr: perMinute('temporal_workflow_task_queue_poll_empty', 'instance'),
            legend: 'workflow empty {{instance}}',
          },
          {
            expr: perMinute('temporal_activity_poll_no_task', 'instance'),
            legend: 'activity empty {{instance}}',
          },
        ],
      },
      {
        title: 'Task slots available',
        description:
          'Free slots per worker replica and kind: at 0 the replica takes no more tasks.',
        kind: 'timeseries',
        unit: 'short',
        queries: [
          {
            expr: 'sum by (instance, worker_type) (temporal_worker_task_slots_available)',
            legend: '{{worker_type}} {{instance}}',
          },
        ],
      },
    ],
  },
];

function target(query: Query, index: number) {
  return {
    refId: String.fromCharCode(65 + index),
    datasource: { type: 'prometheus', uid: datasourceUid },
    expr: query.expr,
    legendFormat: query.legend,
  };
}

function panelOptions(kind: Panel['kind']) {
  switch (kind) {
    case 'timeseries':
      return { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } };
    case 'stat':
      return { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } };
    case 'bargauge':
      return {
        orientation: 'horizontal',
        displayMode: 'basic',
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      };
  }
}

/** The dashboard as Grafana's JSON model: rows of panels, laid out two to a line. */
export function paycenterDashboard() {
  const panels: object[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
    });
    y += 1;
    let x = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? 12;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: panel.kind,
        title: panel.title,
        description: panel.description,
        datasource: { type: 'prometheus', uid: datasourceUid },
        gridPos: { h: 8, w, x, y },
        fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
        options: panelOptions(panel.kind),
        targets: panel.queries.map(target),
      });
      x += w;
    }
    y += 8;
  }
  return {
    uid: 'paycenter',
    title: 'paycenter',
    description:
      'Payments, channels, anomalies, merchant notifications, reconciliation and the workers (docs/ARCHITECTURE.md, Metrics).',
    tags: ['paycenter'],
    timezone: 'browser',
    editable: false,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    schemaVersion: 39,
    version: 1,
    panels,
  };
}

/** The file's text: what the test compares and `npm run dashboard` writes. */
export function dashboardJson(): string {
  return `${JSON.stringify(paycenterDashboard(), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(dashboardPath, dashboardJson());
  console.log(`dashboard: ${path.relative(process.cwd(), dashboardPath)} written`);
}
