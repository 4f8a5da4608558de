# Tollgate for a buyer's own infrastructure (wholesale) or any self-hosted install.
# Build:  docker build -t tollgate .
# Run:    see compose.yaml and docs/wholesale.md. All configuration is environment variables
#         (TOLLGATE_*); the image holds no secrets and no licence.

# ---- build: compile TypeScript, then drop dev dependencies ----
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 falls back to compiling when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev

# ---- runtime ----
FROM node:20.20.2-bookworm-slim
# Set to true for products that include the screen-capture API (Debian's Chromium).
ARG WITH_CHROMIUM=false
RUN if [ "$WITH_CHROMIUM" = "true" ]; then \
      apt-get update \
      && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
      && rm -rf /var/lib/apt/lists/*; \
    fi
ENV NODE_ENV=production \
    TOLLGATE_DATA_DIR=/data \
    TOLLGATE_DATABASE_URL=sqlite:/data/tollgate.db \
    TOLLGATE_GATEWAY_PORT=8080 \
    TOLLGATE_CONSOLE_PORT=8081 \
    TOLLGATE_LOG_LEVEL=info
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/bin ./bin
RUN mkdir -p /data /etc/tollgate && chown node:node /data
VOLUME ["/data"]
# The image's own unprivileged user (uid 1000), never root.
USER node
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TOLLGATE_CONSOLE_PORT || 8081) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/tollgate.js", "serve"]
