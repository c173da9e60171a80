// The deployment files against each other and against the code, without Docker: docker-compose.yml
// (health checks, two worker replicas scraped on the port they serve, paycenter waiting for
// Temporal and its namespaces), deploy/prometheus/prometheus.yml, deploy/temporal/'s setup
// scripts (the search attributes the workflows use), and deploy/grafana/paycenter.json (current
// with its generator, a panel for every paycenter_* metric and none for a metric that is gone).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Histogram } from 'prom-client';
import { parse } from 'yaml';
import { createApiMetrics, createWorkerMetrics } from '../../src/metrics';
import { cliSearchAttributeType, dynamicConfigFlags } from '../../src/dev/temporal';
import { workerHeapMiB } from '../../src/system';
import { backgroundNice, runsInBackground, schedulerWeight } from '../../src/cpuPriority';
import { spawnGroup } from '../../src/dev/processGroup';
import { searchAttributes } from '../../src/workflows/contracts/payment';
import { dashboardJson, dashboardPath, datasourceUid } from '../../scripts/grafanaDashboard';

const root = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
// Compose files use YAML 1.1 merge keys (`<<: *anchor`).
const readYaml = (file: string) => parse(read(file), { merge: true });

interface Service {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  profiles?: string[];
  restart?: string;
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  cpu_shares?: number;
}

const compose = readYaml('docker-compose.yml') as { services: Record<string, Service> };
const services = compose.services;
const service = (name: string): Service => {
  const found = services[name];
  assert.ok(found, `docker-compose.yml has a service ${name}`);
  return found;
};

/** Run once and exit: what needs them waits for them to complete, so they have no health check. */
const oneShots = ['migrate', 'migrate-live', 'temporal-schema', 'temporal-namespaces'];
const workers = ['worker', 'worker-live'];
const apis = ['api', 'api-live'];

interface ScrapeJob {
  job_name: string;
  dns_sd_configs?: { names: string[]; type: string; port: number }[];
  static_configs?: { targets: string[] }[];
}
const prometheus = readYaml('deploy/prometheus/prometheus.yml') as { scrape_configs: ScrapeJob[] };
const job = (name: string) => {
  const found = prometheus.scrape_configs.find((j) => j.job_name === name);
  assert.ok(found, `prometheus.yml has a job ${name}`);
  return found;
};

describe('docker-compose.yml', () => {
  it('issue 16: every long-running service has a health check; one-shots are waited for', () => {
    for (const [name, svc] of Object.entries(services)) {
      if (oneShots.includes(name)) {
        assert.equal(svc.restart, 'no', `${name} runs once`);
        const waiters = Object.values(services).filter(
          (other) => other.depends_on?.[name]?.condition === 'service_completed_successfully',
        );
        assert.ok(waiters.length > 0, `something waits for ${name} to complete`);
        continue;
      }
      assert.ok(
        svc.healthcheck?.test && svc.healthcheck.disable !== true,
        `${name} has a health check`,
      );
    }
  });

  it('issue 17: runs every worker with the heap ceiling its workflow cache is sized to', () => {
    for (const name of workers) {
      assert.equal(
        service(name).environment?.NODE_OPTIONS,
        `--max-old-space-size=${workerHeapMiB}`,
        `${name}'s heap ceiling is workerHeapMiB (src/system.ts)`,
      );
    }
  });

  it('issue 17: weighs the parts behind the API as npm run cluster runs them; the API and PostgreSQL at the default', () => {
    // docker's default cpu_shares is nice 0's weight, 1024.
    const background = ['temporal', 'simulator', 'worker', 'worker-live'];
    for (const [name, other] of Object.entries(services)) {
      const expected = background.includes(name) ? schedulerWeight[backgroundNice] : undefined;
      assert.equal(other.cpu_shares, expected, `${name}'s cpu_shares`);
    }
    assert.equal(schedulerWeight[0], 1024);
    const commands = ['simulator', 'worker', 'api'] as const;
    assert.deepEqual(
      commands.filter((command) => runsInBackground(command)),
      ['simulator', 'worker'],
    );
  });

  it('issue 16: runs the Temporal server itself on PostgreSQL, never the dev server', () => {
    assert.equal(service('temporal').image, 'temporalio/server:1.29.1');
    assert.equal(service('temporal').environment?.DB, 'postgres12');
    assert.doesNotMatch(read('docker-compose.yml'), /start-dev/);
    for (const name of ['temporal-schema', 'temporal-namespaces']) {
      assert.match(service(name).image ?? '', /^temporalio\/admin-tools:1\.29\.1-/);
    }
    assert.equal(
      service('temporal').depends_on?.['temporal-schema']?.condition,
      'service_completed_successfully',
    );
    assert.match(service('temporal-ui').image ?? '', /^temporalio\/ui:/);
  });

  it('issue 16: two worker replicas that publish no port and serve metrics to other containers', () => {
    for (const name of workers) {
      const worker = service(name);
      assert.equal(worker.deploy?.replicas, 2, `${name} runs twice`);
      assert.equal(worker.ports, undefined, `${name} publishes no host port, so two can run`);
      assert.equal(worker.environment?.WORKER_METRICS_HOST, '0.0.0.0');
      assert.ok(worker.environment?.WORKER_METRICS_PORT, `${name} serves /metrics`);
      assert.ok(worker.environment?.WORKER_HEALTH_PORT, `${name} answers probes`);
    }
  });

  it('issue 16: workers and APIs wait for a healthy Temporal with its namespaces set up', () => {
    for (const name of [...workers, ...apis]) {
      const needs = service(name).depends_on ?? {};
      assert.equal(needs.temporal?.condition, 'service_healthy', `${name} waits for Temporal`);
      assert.equal(needs['temporal-namespaces']?.condition, 'service_completed_successfully');
    }
  });

  it('issue 16: the simulator is test mode’s alone', () => {
    assert.deepEqual(service('simulator').profiles, ['test']);
    assert.ok(
      Object.values(services).every(
        (svc) => !svc.profiles?.includes('live') || !svc.command?.includes('simulator'),
      ),
    );
  });

  it('mounts only files that exist', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const volume of svc.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('./')) continue; // a named volume
        assert.ok(existsSync(path.join(root, source)), `${name} mounts ${source}, which exists`);
      }
    }
    // The dynamic config path inside the container, back to the mounted folder.
    const temporal = service('temporal');
    const mount = (temporal.volumes ?? [])
      .map((v) => v.split(':'))
      .find(([source]) => source === './deploy/temporal');
    assert.ok(mount, 'deploy/temporal is mounted into the server');
    const inContainer = String(temporal.environment?.DYNAMIC_CONFIG_FILE_PATH);
    assert.ok(inContainer.startsWith(`${mount[1]}/`));
    assert.ok(existsSync(path.join(root, 'deploy/temporal', inContainer.slice(mount[1]!.length))));
    assert.equal(inContainer.slice(mount[1]!.length), `/${sharedDynamicConfig}`);
  });
});

/** The one dynamic config of paycenter's Temporal servers, under deploy/temporal. */
const sharedDynamicConfig = 'dynamicconfig/paycenter.yaml';

describe('deploy/temporal dynamic config', () => {
  it("issue 17: npm run cluster's server reads the file docker-compose's does", () => {
    const filepath = /dynamicConfigClient:\s*\n\s*filepath:\s*"([^"]+)"/.exec(
      read('deploy/temporal/paycenter.yaml'),
    )?.[1];
    assert.equal(filepath, `deploy/temporal/${sharedDynamicConfig}`);
  });

  it('issue 17: the dev server gets the same settings as flags, eager activities among them', async () => {
    const flags = await dynamicConfigFlags();
    assert.ok(flags.includes('system.enableActivityEagerExecution=true'), flags.join(' '));
    assert.ok(flags.includes('frontend.enableExecuteMultiOperation=true'), flags.join(' '));
    const file = readYaml(`deploy/temporal/${sharedDynamicConfig}`) as Record<string, unknown>;
    assert.equal(flags.length, Object.keys(file).length * 2);
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  it('issue 16: scrapes every worker replica on the metrics port compose gives it', () => {
    const workerJob = job('paycenter-worker');
    const sd = workerJob.dns_sd_configs?.[0];
    assert.ok(sd, 'worker replicas are found by DNS');
    assert.equal(sd.type, 'A');
    assert.deepEqual([...sd.names].sort(), [...workers].sort());
    for (const name of workers) {
      assert.equal(sd.port, Number(service(name).environment?.WORKER_METRICS_PORT), name);
    }
  });

  it('issue 16: scrapes every API process on the port it listens on', () => {
    const sd = job('paycenter-api').dns_sd_configs?.[0];
    assert.ok(sd);
    assert.deepEqual([...sd.names].sort(), [...apis].sort());
    for (const name of apis) {
      const probe = service(name).healthcheck?.test?.at(-1) ?? '';
      assert.equal(new URL(probe).port, String(sd.port), `${name}'s probe and scrape agree`);
      assert.ok(service(name).ports?.some((p) => p.endsWith(`:${sd.port}`)));
    }
  });

  it('scrapes the Temporal server where it serves its metrics', () => {
    const endpoint = String(service('temporal').environment?.PROMETHEUS_ENDPOINT);
    const port = endpoint.split(':').at(-1);
    assert.deepEqual(job('temporal').static_configs?.[0]?.targets, [`temporal:${port}`]);
  });
});

describe('deploy/temporal', () => {
  it('issue 16: the namespace setup registers exactly the search attributes the workflows use', () => {
    const script = read('deploy/temporal/setup-namespaces.sh');
    const declared = /^attributes=\(([^)]*)\)/m.exec(script)?.[1]?.split(/\s+/).filter(Boolean);
    assert.ok(declared, 'setup-namespaces.sh lists its attributes');
    const expected = Object.values(searchAttributes).map(
      (key) => `${key.name}:${cliSearchAttributeType[key.type]}`,
    );
    assert.deepEqual([...declared].sort(), expected.sort());
    // The readiness query names every one of them.
    for (const key of Object.values(searchAttributes))
      assert.match(script, new RegExp(`${key.name} = `));
  });

  it('the namespaces it sets up are the ones test and live processes use', () => {
    const namespaces = String(
      service('temporal-namespaces').environment?.TEMPORAL_NAMESPACES,
    ).split(' ');
    assert.ok(namespaces.includes(String(service('api').environment?.TEMPORAL_NAMESPACE)));
    // Live's namespace comes from the same variable, with the same default.
    const live = /\$\{LIVE_TEMPORAL_NAMESPACE:-([^}]+)\}/;
    const liveDefault = live.exec(String(service('api-live').environment?.TEMPORAL_NAMESPACE))?.[1];
    assert.ok(liveDefault && namespaces.some((n) => live.exec(n)?.[1] === liveDefault));
    assert.notEqual(liveDefault, 'default', 'live never shares test’s namespace');
  });
});

/** paycenter_* metrics defined in src/metrics.ts: name → histogram or not. */
function definedMetrics(): Map<string, boolean> {
  const registries = [
    createApiMetrics({
      payOrdersNeedingAttention: async () => 0,
      payOrderRequestsWaiting: () => 0,
    }).registry,
    createWorkerMetrics().registry,
  ];
  const metrics = registries.flatMap((registry) => registry.getMetricsAsArray());
  return new Map(
    metrics
      .filter((metric) => metric.name.startsWith('paycenter_'))
      .map((metric) => [metric.name, metric instanceof Histogram]),
  );
}

/** paycenter_* metric names the dashboard's queries read, a histogram's series as the histogram. */
function dashboardMetrics(defined: Map<string, boolean>): Set<string> {
  const dashboard = JSON.parse(read(path.relative(root, dashboardPath))) as {
    panels: { targets?: { expr: string }[] }[];
  };
  const names = dashboard.panels
    .flatMap((panel) => panel.targets ?? [])
    .flatMap((target) => target.expr.match(/\bpaycenter_[a-z_]+/g) ?? []);
  return new Set(
    names.map((name) => {
      const histogram = name.replace(/_(bucket|sum|count)$/, '');
      return histogram !== name && defined.get(histogram) ? histogram : name;
    }),
  );
}

describe('deploy/grafana/paycenter.json', () => {
  it('issue 16: is what scripts/grafanaDashboard.ts writes (npm run dashboard)', () => {
    assert.equal(read(path.relative(root, dashboardPath)), dashboardJson());
  });

  it('issue 16: has a panel for every paycenter_* metric and reads no metric that is not defined', () => {
    const defined = definedMetrics();
    assert.ok(defined.size >= 12, 'the metrics of src/metrics.ts are found');
    const used = dashboardMetrics(defined);
    const undefinedUsed = [...used].filter((name) => !defined.has(name));
    assert.deepEqual(
      undefinedUsed,
      [],
      'metrics the dashboard reads that src/metrics.ts does not define',
    );
    const withoutPanel = [...defined.keys()].filter((name) => !used.has(name));
    assert.deepEqual(withoutPanel, [], 'metrics without a panel');
  });

  it('reads the datasource Grafana is provisioned with, from the folder compose mounts it in', () => {
    const datasources = readYaml('deploy/grafana/provisioning/datasources/prometheus.yml') as {
      datasources: { uid: string; url: string }[];
    };
    assert.deepEqual(
      datasources.datasources.map((d) => d.uid),
      [datasourceUid],
    );
    assert.equal(new URL(datasources.datasources[0]!.url).hostname, 'prometheus');
    const providers = readYaml('deploy/grafana/provisioning/dashboards/paycenter.yml') as {
      providers: { options: { path: string } }[];
    };
    const mounted = (service('grafana').volumes ?? [])
      .map((v) => v.split(':'))
      .find(([source]) => source === './deploy/grafana/paycenter.json');
    assert.ok(mounted, 'compose mounts the dashboard');
    assert.equal(path.dirname(mounted[1]!), providers.providers[0]!.options.path);
  });
});

describe('the background parts of npm run cluster', () => {
  const niceOf = async (background: boolean) => {
    const lines: string[] = [];
    const part = spawnGroup(
      process.execPath,
      ['-e', "console.log(require('node:os').getPriority())"],
      { env: process.env, output: (line) => lines.push(line), background },
    );
    assert.equal(await part.exited, 0);
    return Number(lines.join('').trim());
  };

  it('issue 17: run below the API, at the background nice; the API at its own', async () => {
    const own = (await import('node:os')).getPriority();
    assert.equal(await niceOf(true), Math.min(19, own + backgroundNice));
    assert.equal(await niceOf(false), own);
  });
});
