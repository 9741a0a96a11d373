# Multi-stage: build with dev dependencies, ship only the compiled code and production ones.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The same install CI runs (.ci/run, README). --ignore-scripts only skips our `prepare` (a tsc
# build, before the sources are copied); the build runs explicitly below.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# The worker serves /metrics, /healthz and /readyz here (FLEETSYNC_METRICS_PORT wins over the config).
ENV FLEETSYNC_METRICS_PORT=9464
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 9464
# Process up and serving; the slim image has no curl, so Node's fetch asks. Commands other than
# `worker` (dashboard, sync) override or disable it in docker-compose.yml.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.FLEETSYNC_METRICS_PORT || '9464') + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["worker"]
