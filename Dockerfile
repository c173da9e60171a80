# One image for every paycenter process; the command picks the part (api, worker, simulator, migrate).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY drizzle ./drizzle
COPY scripts ./scripts
COPY src ./src
COPY simulator ./simulator
ENV NODE_ENV=production
# For `all` and `api`: the API's /readyz (database and Temporal). docker-compose.yml gives the
# worker (WORKER_HEALTH_PORT) and the simulator their own URLs, and migrate none.
HEALTHCHECK --interval=10s --timeout=6s --start-period=60s --retries=3 \
  CMD ["node", "scripts/healthcheck.cjs"]
ENTRYPOINT ["node", "--import", "tsx", "src/main.ts"]
CMD ["all"]
