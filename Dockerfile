# csb-relay as a container image: `docker build -t csb-relay .` (docs/deploy.md).
#
# BASE_IMAGE: Debian bookworm with Node 20 installed under /usr/local, as the official image
# has it. scripts/test-deploy.sh builds such a base locally and passes it here.
ARG BASE_IMAGE=node:20-bookworm-slim

# ---- build: every dependency (TypeScript and the rest), compile, then drop the dev ones ----
FROM ${BASE_IMAGE} AS build
# better-sqlite3 is compiled from source, which needs python3, make and a C++ compiler.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp compiles against the headers that come with Node in /usr/local/include/node rather
# than downloading them, and better-sqlite3 does not first try to download a prebuilt binary.
ENV npm_config_nodedir=/usr/local \
    npm_config_build_from_source=true \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` script builds dist/, and the sources are not here yet;
# better-sqlite3's own install step runs in the rebuild.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json tsconfig.types.json ./
COPY bin ./bin
COPY src ./src
# Of better-sqlite3's build only the compiled addon is loaded: its sources and intermediate
# objects (about 25 MB) stay out of the image.
RUN npm run build && npm prune --omit=dev \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src \
 && mkdir -p build/Release && mv /tmp/better_sqlite3.node build/Release/

# ---- run: production dependencies, the compiled relay, an unprivileged user ----
FROM ${BASE_IMAGE} AS run
# A fixed uid/gid (10001) so that a volume's owner is known beforehand on any host.
RUN groupadd --gid 10001 csb-relay \
 && useradd --uid 10001 --gid csb-relay --home-dir /data --no-create-home --no-log-init \
      --shell /usr/sbin/nologin csb-relay \
 && mkdir /data && chown csb-relay:csb-relay /data && chmod 0700 /data
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
COPY deploy/healthcheck.js deploy/backup-sqlite.js ./deploy/
# `csb-relay status`, `csb-relay dlq ...` inside the container (docker compose exec relay ...).
RUN ln -s /app/bin/csb-relay.js /usr/local/bin/csb-relay
# HOST=0.0.0.0: inside a container, 127.0.0.1 is unreachable from the published port.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    CSB_RELAY_DB=/data/csb-relay.db
# The SQLite store (database, WAL and the generated write key inside it) lives here.
VOLUME ["/data"]
EXPOSE 8080
USER csb-relay:csb-relay
# The image has no curl; Node asks /healthz on the port the relay listens on.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/deploy/healthcheck.js"]
# On SIGTERM the relay stops accepting, finishes in-flight requests and their commits, stops
# delivery and exits 0. Node runs as PID 1 and the relay installs its own SIGTERM handler.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/csb-relay.js"]
CMD ["start"]
