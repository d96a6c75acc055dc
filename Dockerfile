# The sgrestore image: `sgrestore run` (the operator) by default; any other subcommand works too
# (`docker run IMAGE plan --region ...`). Build (docs/image.md):
#
#   podman build -t sgrestore:0.1.0 .        # or: docker build -t sgrestore:0.1.0 .
#   podman build --build-arg BASE_IMAGE=<your mirror>/node:24-bookworm-slim --build-arg SOURCE_URL=<repo URL> ...
#   npm run image:build                      # podman; without a registry, on a local Debian + Node 24 base
#
# Three stages on the same Node 24 base: build (all dependencies, compile TypeScript), deps (production dependencies
# only), and the runtime image (those two results, no compiler, no dev dependencies, no npm).
#
# npm ci reads an optional build secret `npmrc` as its user config: a registry mirror, a CA, a proxy or a token,
# without any of it reaching a layer (`--secret id=npmrc,src=$HOME/.npmrc`; without the secret npm uses its
# defaults). Downloads go to a cache mount shared by both npm ci steps.

ARG BASE_IMAGE=node:24-bookworm-slim

# --- build: compile src/ to dist/ ---------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the only dependency with one (@alicloud/openapi-core's postinstall) does nothing on Node 24.
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=cache,id=sgrestore-npm,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only ---------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=cache,id=sgrestore-npm,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime ------------------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="sgrestore" \
      org.opencontainers.image.description="Restore Alibaba Cloud ECS security-group rules from a backup group: Kubernetes operator and CLI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE_URL}"

# The runtime needs node only: drop the package managers the base image ships (less to patch, nothing to misuse).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*

ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the user that runs: the code cannot be changed at run time.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY bin ./bin
COPY crds ./crds

# Numeric, so Kubernetes can check runAsNonRoot without a passwd entry (65532: the usual "nonroot" id).
USER 65532:65532
EXPOSE 8080 8081
# Exec form, no shell in between: SIGTERM reaches node as PID 1. PID 1 gets no default signal handling, so this
# relies on `sgrestore run` handling SIGTERM itself (it does: it stops taking work, lets in-flight ECS calls finish
# and releases its leader lease); node starts no child processes, so there is nothing to reap and no init needed.
# Probes are HTTP (/healthz, /readyz on 8081) in deploy/, so no HEALTHCHECK here.
ENTRYPOINT ["node", "/app/bin/sgrestore.js"]
CMD ["run"]
