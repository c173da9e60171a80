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
ENTRYPOINT ["node", "--import", "tsx", "src/main.ts"]
CMD ["all"]
