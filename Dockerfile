# syntax=docker/dockerfile:1
#
# webrtc-echo in the Echo Test's container contract (docs/deploy.md):
#   docker run IMAGE                          the echo server on 8080 (POST /offer, the page at /)
#   docker run --entrypoint /client.sh IMAGE "-s http://SERVER:8080/offer -t 1"
# It runs as the unprivileged `node` user (uid 1000) and reports health from GET /healthz.
#
#   docker build -t webrtc-echo .
#   docker run --rm --stop-timeout 40 -p 8080:8080 -p 50000-50099:50000-50099/udp webrtc-echo \
#     serve --udp-port-range 50000-50099 --public-ip HOST_ADDRESS
#
# bookworm (glibc), not Alpine: node-datachannel and @roamhq/wrtc ship glibc builds
# (@node-datachannel/linux-x64-gnu, @roamhq/wrtc-linux-x64), and neither has an install
# script: `npm ci --ignore-scripts` gets every native binary from the registry.
ARG NODE_IMAGE=node:20-bookworm-slim

# Everything, to build the TypeScript and the page.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY page ./page
RUN npm run build

# Production dependencies only (no TypeScript, Vite, tsx or playwright-core).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json client.sh ./
COPY testdata ./testdata
COPY deploy/healthcheck.mjs ./deploy/
# The contract's client entry is /client.sh; client.sh finds dist/ through the link.
RUN chmod 0755 /app/client.sh && ln -s /app/client.sh /client.sh
# The files stay root's and read-only to the server, which writes nothing to disk.
USER node
# HTTP signaling and the page. Media is UDP on the ports of --udp-port-range (or any free port
# without it): publish that range too, see docs/deploy.md.
EXPOSE 8080
# ECHO_HEALTH_URL for another port or scheme (https is checked without verifying the certificate).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["node", "/app/deploy/healthcheck.mjs"]
# SIGTERM drains (30 s by default, --drain-timeout): give `docker stop` longer, e.g. --stop-timeout 40.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["serve"]
