// Runs the example shop against a paycenter: PAYCENTER_URL (http://localhost:3000), and the
// merchant's PAYCENTER_API_KEY and PAYCENTER_NOTIFY_SECRET; the shop listens on SHOP_PORT (4020).
import { createPaycenterClient } from '@paycenter/client';
import { createShop } from './shop';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

const port = Number(process.env.SHOP_PORT ?? 4020);
const shop = createShop({
  paycenter: createPaycenterClient({
    baseUrl: process.env.PAYCENTER_URL ?? 'http://localhost:3000',
    apiKey: required('PAYCENTER_API_KEY'),
  }),
  notifySecrets: required('PAYCENTER_NOTIFY_SECRET').split(','),
  ...(process.env.SHOP_PUBLIC_URL ? { publicUrl: process.env.SHOP_PUBLIC_URL } : {}),
});
shop.server.listen(port, () => {
  console.log(`example shop on http://127.0.0.1:${port}; paycenter notifies ${shop.notifyUrl()}`);
});
