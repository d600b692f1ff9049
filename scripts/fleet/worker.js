// A fleet worker (Node): FLEET_POLLS polls of FLEET_ORDER_ID and FLEET_ORDERS new orders, as
// fast as the client lets it, then one JSON line of what happened. The client's configuration
// is all from the environment (NEXOTP_API_KEY, NEXOTP_BASE_URL, NEXOTP_RATE_LIMIT_STORE,
// NEXOTP_RATE_LIMITS), as a worker of a real fleet would have it.
'use strict';

const path = require('node:path');
const { Client } = require(path.join(__dirname, '..', '..'));

async function main() {
  const env = process.env;
  const orderId = env.FLEET_ORDER_ID;
  let polls = Number(env.FLEET_POLLS);
  let orders = Number(env.FLEET_ORDERS);
  const concurrency = Number(env.FLEET_CONCURRENCY || 8);
  const report = { worker: 'node', polls: 0, orders: [], errors: [] };
  const times = [];
  const client = new Client();
  const poller = async () => {
    while (polls > 0) {
      polls -= 1;
      const started = Date.now();
      try {
        await client.getOrder(orderId);
        report.polls += 1;
        times.push(started, Date.now());
      } catch (e) {
        report.errors.push(`poll: ${e.name}: ${e.message}`);
      }
    }
  };
  const orderer = async () => {
    while (orders > 0) {
      orders -= 1;
      try {
        const order = await client.createOrder({ service: 'svc_telegram', country: 'cty_us' });
        report.orders.push(order.id);
      } catch (e) {
        report.errors.push(`order: ${e.name}: ${e.message}`);
      }
    }
  };
  const tasks = [orderer(), orderer()];
  for (let i = 0; i < concurrency; i += 1) tasks.push(poller());
  await Promise.all(tasks);
  report.first_ms = times.length ? Math.min(...times) : 0;
  report.last_ms = times.length ? Math.max(...times) : 0;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
