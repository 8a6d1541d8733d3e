# Production images of Yuju Relay, one target per app:
#   docker build --target worker -t yuju-relay-worker .    (targets: ingress, worker, dashboard, demo-receiver)
# The worker's image also holds the `relay` CLI (/opt/relay, on the PATH as `relay`).
# docker-compose.yml builds them all. Each image is node:<LTS>-slim plus one bundled ESM file
# (dist/main.mjs, see scripts/build-app.ts) and the app's production dependencies, run as user `node`.
# Needs BuildKit (the default builder of current Docker) for the cache mounts.

ARG NODE_IMAGE=node:22-slim

# ---- build: the whole workspace with its dev dependencies (esbuild, tsx); never shipped
FROM ${NODE_IMAGE} AS build
# The version of package.json's "packageManager" (pnpm switches to that one by itself if they differ).
ARG PNPM_VERSION=10.34.8
ENV PNPM_HOME=/pnpm
RUN npm install --global --no-fund --no-audit --no-update-notifier --loglevel=error pnpm@${PNPM_VERSION}
WORKDIR /repo
# Downloads depend on the lockfile alone: a source change does not refetch them, and the store
# survives lockfile changes in the cache mount.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
# pnpm applies these to dependencies at install (pnpm-workspace.yaml: patchedDependencies).
COPY patches ./patches
RUN --mount=type=cache,id=yuju-pnpm-store,target=/pnpm/store pnpm fetch
COPY . .
RUN --mount=type=cache,id=yuju-pnpm-store,target=/pnpm/store pnpm install --offline --frozen-lockfile

FROM build AS ingress-build
RUN --mount=type=cache,id=yuju-pnpm-store,target=/pnpm/store pnpm exec tsx scripts/build-app.ts apps/ingress /out

FROM build AS worker-build
RUN --mount=type=cache,id=yuju-pnpm-store,target=/pnpm/store pnpm exec tsx scripts/build-app.ts apps/worker /out

FROM build AS dashboard-build
RUN --mount=type=cache,id=yuju-pnpm-store,target=/pnpm/store pnpm exec tsx scripts/build-app.ts apps/dashboard /out

# The `relay` operations CLI, shipped in the worker's image (docker compose exec worker relay …).
FROM build AS cli-build
RUN --mount=type=cache,id=yuju-pnpm-store,target=/pnpm/store pnpm exec tsx scripts/build-app.ts apps/cli /out \
  && printf '#!/bin/sh\nexec node /opt/relay/dist/main.mjs "$@"\n' > /usr/local/bin/relay \
  && chmod 755 /usr/local/bin/relay

FROM build AS demo-receiver-build
RUN --mount=type=cache,id=yuju-pnpm-store,target=/pnpm/store pnpm exec tsx scripts/build-app.ts examples/demo-receiver /out

# ---- runtime: what every app image shares
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production NODE_OPTIONS=--enable-source-maps
WORKDIR /app
# The files stay owned by root: the app cannot rewrite its own code.
USER node
CMD ["node", "dist/main.mjs"]

FROM runtime AS ingress
COPY --from=ingress-build /out /app
# The spool's mount point, owned by `node`: a named volume mounted there starts with this owner.
USER root
RUN mkdir -p /var/lib/yuju/spool && chown node:node /var/lib/yuju/spool
USER node
# A young generation of at most 2 x 8 MB instead of V8's 2 x 16: the ingress's requests live for one
# Redis round trip, so a smaller one costs no measurable CPU and keeps peak RSS under load about
# 15 MB lower (docs/performance.md; pnpm bench runs the ingress with these options).
ENV PORT=3000 NODE_OPTIONS="--enable-source-maps --max-semi-space-size=8"
EXPOSE 3000
# /readyz: the ingress answers and its Redis does (Docker has one check; there is no liveness/readiness split).
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

FROM runtime AS worker
COPY --from=worker-build /out /app
# `relay` beside the worker, with its own dependencies: it reads the worker's environment and RELAY_CONFIG.
COPY --from=cli-build /out /opt/relay
COPY --from=cli-build /usr/local/bin/relay /usr/local/bin/relay
# The worker's only HTTP server: /healthz, /readyz and /metrics, never published. /readyz proves the
# worker consumes (it fails when jobs wait and it takes none), which a Redis PING would not.
ENV OPS_PORT=9464
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.OPS_PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

FROM runtime AS dashboard
COPY --from=dashboard-build /out /app
ENV DASHBOARD_PORT=3001
EXPOSE 3001
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.DASHBOARD_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

FROM runtime AS demo-receiver
COPY --from=demo-receiver-build /out /app
ENV PORT=4000
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
