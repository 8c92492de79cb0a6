# syntax=docker/dockerfile:1
# The mailsync-operator image: `docker build -t mailsync-operator .`
#
# Three stages, so that the runtime image holds the compiled JavaScript, the production
# dependencies and Node.js, and nothing else: no compiler, no dev dependencies, no npm, no shell.
# The build context is an allowlist (.dockerignore): package files, tsconfig.json and src/.
#
# The Node major version is 24 in every stage (package.json asks for >=22.19; the project
# targets 24). Both bases are Debian 12 (bookworm), so the C library the dependencies were
# installed against is the one they run on. Pin the digests in your registry mirror.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# --- build: all dependencies, compile TypeScript to dist/ -------------------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: compiling needs none, and none of a dependency's code runs at build time.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

# --- deps: production dependencies only, installed on a clean tree ---------------------------
# A fresh `npm ci --omit=dev` rather than pruning the build stage's tree: nothing a dev tool
# left behind can leak into the image. No dependency needs an install script.
FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime: distroless Node.js 24, non-root, read-only friendly ----------------------------
FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="mailsync-operator" \
      org.opencontainers.image.description="Kubernetes operator that connects CRM users' and queues' mailboxes to their mail servers" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
# package.json is needed at run time: its "type": "module" makes Node load dist/ as ES modules.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# Numeric, so that the kubelet can verify runAsNonRoot without a runAsUser in the pod spec.
# The files above stay owned by root: the process can read its code but not change it.
USER 65532:65532
# /metrics, /healthz and /readyz (--metrics-addr, default :8080).
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/src/cli/mailsync.js"]
CMD ["operator"]
