# The broker in a container: the server bundle (dist/server, functions/server) on a slim Node 20,
# run as a non-root user. docs/adapters.md shows how to build and run it;
# test/build/dockerfile.test.ts checks this file and runs what its CMD and HEALTHCHECK run.
# Both stages use one image, so the build's Node is the Node that runs the bundle.
ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY client/ client/
RUN npm ci --no-audit --no-fund
COPY . .
# A profiles file is compiled into the bundle: docker build --build-arg STS_PROFILES_FILE=examples/profiles.json .
ARG STS_PROFILES_FILE=""
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production PORT=9000 HOST=0.0.0.0
WORKDIR /app
# The bundle only: no node_modules, no sources, owned by root so the server cannot change it.
COPY --from=build /src/dist/server/ ./
USER node
EXPOSE 9000
# The health path answers 200 while the broker can issue (docs/adapters.md); the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 9000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop, Kubernetes) drains in-flight requests, then the server exits 0.
CMD ["node", "index.js"]
