# One image for every paycenter process; the command picks the part (api, worker, simulator,
# migrate). Built in two stages: the first compiles (`npm run build`: dist/ with the workflow
# bundle prebuilt), the second holds only dist/ and the production dependencies, run as `node`.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/patch-postgres.cjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY drizzle ./drizzle
COPY scripts ./scripts
COPY src ./src
COPY simulator ./simulator
RUN npm run build

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY scripts/patch-postgres.cjs scripts/healthcheck.cjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The simulator's journal and the demo's key files live under DATA_DIR, writable by `node`.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
# The API's /readyz (database and Temporal) by default; docker-compose.yml gives the worker
# (WORKER_HEALTH_PORT) and the simulator their own URLs, and migrate none.
HEALTHCHECK --interval=10s --timeout=6s --start-period=60s --retries=3 \
  CMD ["node", "scripts/healthcheck.cjs"]
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["api"]
