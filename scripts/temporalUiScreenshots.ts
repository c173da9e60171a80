// The README's pictures of the Temporal UI (docs/temporal-ui/): runs `npm start`'s system
// (`src/main.ts all`) on free ports in a folder of its own, pays one order twice through the
// sandbox (the second payment is a DUPLICATE_PAYMENT, refunded), and has headless Chromium take
// pictures of what an operator sees: the workflow's timeline with the calls' summaries, its
// summary and details, its search attributes, and the list of orders found by AnomalyKinds. Run: `node --import tsx scripts/temporalUiScreenshots.ts`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../test/support/browser';

const root = path.resolve(__dirname, '..');
const folder = path.join(root, 'docs/temporal-ui');
const demoKey = `pk_test_${'screenshots'.padEnd(32, '0')}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

interface Paid {
  attempt: { outTradeNo: string };
}
interface OrderView {
  status: string;
  refunds: { status: string }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | false | undefined>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function main() {
  const [api, temporal, ui, simulator] = await Promise.all([1, 2, 3, 4].map(() => freePort()));
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'paycenter-ui-'));
  const temporalCli = execFileSync('bash', [path.join(root, 'scripts/temporal-cli.sh')], {
    encoding: 'utf8',
  }).trim();
  const system = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'all'], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      API_PORT: String(api),
      TEMPORAL_PORT: String(temporal),
      TEMPORAL_UI_PORT: String(ui),
      SIMULATOR_PORT: String(simulator),
      TEMPORAL_CLI: temporalCli,
      PAYCENTER_DEMO_API_KEY: demoKey,
    },
  });
  try {
    const apiUrl = `http://127.0.0.1:${api}`;
    const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
      const answer = await fetch(`${apiUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${demoKey}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json: unknown = await answer.json();
      if (!answer.ok)
        throw new Error(`${method} ${route}: ${answer.status} ${JSON.stringify(json)}`);
      return json as T;
    };
    const payerPays = (outTradeNo: string) =>
      fetch(`http://127.0.0.1:${simulator}/control/payments/${outTradeNo}/pay`, { method: 'POST' });
    await until('the system to be ready', async () => (await fetch(`${apiUrl}/readyz`)).ok);

    const order = await call<{ id: string }>('POST', '/v1/pay-orders', {
      merchantOrderNo: `order-${Date.now()}`,
      amount: 1234,
      currency: 'CNY',
      subject: 'Tea for two',
      expiresInSeconds: 900,
    });
    const first = await call<Paid>('POST', `/v1/pay-orders/${order.id}/pay`, {
      channel: 'sandbox',
      method: 'page',
    });
    const second = await call<Paid>('POST', `/v1/pay-orders/${order.id}/pay`, {
      channel: 'sandbox',
      method: 'qr',
    });
    await payerPays(first.attempt.outTradeNo);
    await until('the order paid', async () => {
      const view = await call<OrderView>('GET', `/v1/pay-orders/${order.id}`);
      return view.status === 'SUCCEEDED';
    });
    // The payer pays the second channel order too, which was closed: the channel takes it anyway.
    await payerPays(second.attempt.outTradeNo);
    await until('the duplicate refunded', async () => {
      const view = await call<OrderView>('GET', `/v1/pay-orders/${order.id}`);
      return view.refunds.some((r) => r.status === 'SUCCEEDED');
    });

    mkdirSync(folder, { recursive: true });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      page.setDefaultTimeout(60_000);
      const uiUrl = `http://127.0.0.1:${ui}/namespaces/default`;
      await page.goto(`${uiUrl}/workflows/${order.id}`);
      // The timeline: each call that matters carries its summary.
      await page.getByText('refund DUPLICATE_PAYMENT 12.34 CNY').first().waitFor();
      await sleep(2_000);
      await page.screenshot({ path: path.join(folder, 'duplicate-payment-timeline.png') });
      // The summary, the static details and the workflow's current details.
      await page.getByText('User Metadata', { exact: true }).click();
      // The Markdown is rendered in frames of its own: given time, not looked for.
      await page.getByText('Current Details', { exact: true }).waitFor();
      await sleep(3_000);
      await page.screenshot({ path: path.join(folder, 'duplicate-payment-details.png') });
      await page.getByText('Search Attributes', { exact: true }).click();
      await page.getByText('AnomalyKinds').first().waitFor();
      await sleep(1_000);
      await page.screenshot({ path: path.join(folder, 'duplicate-payment-search-attributes.png') });

      const query = "AnomalyKinds = 'DUPLICATE_PAYMENT'";
      await page.goto(`${uiUrl}/workflows?query=${encodeURIComponent(query)}`);
      await page.getByText(order.id).first().waitFor();
      await sleep(1_000);
      await page.screenshot({ path: path.join(folder, 'anomaly-list.png') });
    } finally {
      await browser.close();
    }
    console.log(`pictures of ${order.id} in ${path.relative(root, folder)}`);
  } finally {
    // The whole process group: the system and the dev server it started.
    process.kill(-system.pid!, 'SIGTERM');
    await sleep(3_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
