# Tollgate for a buyer's own infrastructure (wholesale) or any self-hosted install.
# Build:  docker build -t tollgate .
#         (podman: add --format docker, which keeps the HEALTHCHECK; the OCI format drops it)
# Run:    see compose.yaml and docs/wholesale.md. All configuration is environment variables
#         (TOLLGATE_*); the image holds no secrets and no licence.
#
# The base images are build arguments. The defaults are the official Node 20 images; a
# machine that cannot pull them builds from local ones instead (scripts/container-base.sh
# makes them, scripts/container-image.sh passes them). Either base must provide `node` (20.18
# or later) on PATH and a user `node` with uid 1000; the build base also `npm`.
ARG BUILD_BASE=node:20.20.2-bookworm-slim
ARG RUNTIME_BASE=node:20.20.2-bookworm-slim

# ---- build: compile TypeScript, then drop dev dependencies ----
FROM ${BUILD_BASE} AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches or can be downloaded:
# python3, make and g++ (installed unless the base already has them).
RUN if ! command -v python3 >/dev/null || ! command -v make >/dev/null || ! command -v g++ >/dev/null; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3 make g++ \
      && rm -rf /var/lib/apt/lists/*; \
    fi
COPY package.json package-lock.json ./
# npm can exit 0 without installing ("Exit handler never called"): `npm ls` checks the tree.
RUN npm ci --no-audit --no-fund && npm ls --depth=0 >/dev/null
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM ${RUNTIME_BASE}
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
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# The program is root's and read-only to the server; only /data is the server's to write.
RUN mkdir -p /data /etc/tollgate && chown node:node /data
VOLUME ["/data"]
# The image's own unprivileged user (uid 1000), never root.
USER node
EXPOSE 8080 8081
# SIGTERM drains the gateway and flushes usage, then exits 0 (docs/operations.md): give it
# more than shutdownGraceMs (10 s) before a kill, e.g. `docker stop -t 30`.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.TOLLGATE_CONSOLE_PORT || 8081) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/tollgate.js", "serve"]
