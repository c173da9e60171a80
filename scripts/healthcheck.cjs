// The container's health check (Dockerfile HEALTHCHECK, docker-compose.yml): exits 0 when the
// probe URL answers 2xx within 5 s, else 1. Plain Node, no tsx, so it starts fast. The URL is the
// first argument, else the API's /readyz on API_PORT; a worker's is its WORKER_HEALTH_PORT's
// /readyz, the simulator's its /healthz.
const url = process.argv[2] ?? `http://127.0.0.1:${process.env.API_PORT || 3000}/readyz`;

fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
  (answer) => process.exit(answer.ok ? 0 : 1),
  () => process.exit(1),
);
