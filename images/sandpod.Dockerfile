# syntax=docker/dockerfile:1
# The gateway and the operator: one image, two commands (node dist/gateway/main.js,
# node dist/operator/main.js), as the chart's Deployments run them. Build from the repository root:
#   make images   (or: docker build -f images/sandpod.Dockerfile --build-arg NODE_BASE=... .)
ARG NODE_BASE

FROM ${NODE_BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY contract contract
COPY sandbox sandbox
COPY kube kube
COPY observability observability
COPY gateway gateway
COPY operator operator
COPY client client
COPY cli cli
COPY kubectl-plugin kubectl-plugin
COPY web web
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/.cache

FROM ${NODE_BASE}
ENV NODE_ENV=production
WORKDIR /app
# Only what runs: the compiled code, the page, production dependencies, the default configuration.
COPY --from=build --chown=0:0 /src/package.json ./package.json
COPY --from=build --chown=0:0 /src/node_modules ./node_modules
COPY --from=build --chown=0:0 /src/dist ./dist
COPY --from=build --chown=0:0 /src/web/dist ./web/dist
COPY --chown=0:0 config ./config
COPY --chown=0:0 runtimes/catalog.yaml ./runtimes/catalog.yaml
# Files owned by root and read-only to the process; the chart also mounts the root read-only.
RUN chmod -R a+rX,go-w /app
USER 65532:65532
EXPOSE 8080 8081
CMD ["node", "dist/gateway/main.js"]
