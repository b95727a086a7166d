# courier worker image: `docker build -t courier .`
# Build stage: compile the TypeScript and bundle the workflows once, so workers start without webpack.
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle-workflows.ts ./scripts/
# The dashboard's pages are served as they are, beside the compiled code that serves them.
RUN npx tsc -p tsconfig.build.json && cp -r src/dashboard/public dist/dashboard/ && npx tsx scripts/bundle-workflows.ts dist/workflow-bundle.js

# Runtime stage: production dependencies, compiled code and the bundle, run as the unprivileged node user.
FROM node:20.20-bookworm-slim
# MALLOC_ARENA_MAX: see WORKER_PROCESS_ENV in src/worker-tuning.ts.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    COURIER_DATA_DIR=/var/lib/courier \
    COURIER_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    COURIER_SHUTDOWN_GRACE=5m
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# /run/courier holds the payload encryption keys (a volume the codec-keys step fills once).
RUN mkdir -p /var/lib/courier /run/courier && chown node:node /var/lib/courier /run/courier
USER node
VOLUME ["/var/lib/courier"]
# Healthy when the Temporal server answers this worker's connection settings.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["node", "/app/dist/cli.js", "health"]
# SIGTERM lets running uploads finish or checkpoint within COURIER_SHUTDOWN_GRACE; give docker stop at least that long.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["worker"]
