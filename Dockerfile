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
# Node 26 ('Lithium'): the Active LTS line since 2026-10-28 (Node's release schedule; 24 and 22
# are in maintenance, 22 ends 2027-04-30). The suite's core runs on it in CI (scripts/test-on-node.sh).
# bookworm (glibc), not Alpine: node-datachannel and @roamhq/wrtc ship glibc builds
# (@node-datachannel/linux-x64-gnu, @roamhq/wrtc-linux-x64), from the registry, without install
# scripts. `npm ci --ignore-scripts` runs no dependency's code; what our own install does
# (package.json prepare) is done below as explicit steps.
ARG NODE_VERSION=26

# Build: the full image (buildpack-deps: python3, make, g++ for node-gyp), every dependency,
# TypeScript and the page. Nothing of this stage but its output reaches the image.
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
# node-gyp compiles against this image's own Node headers (/usr/local/include/node), no download.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build
# The native engine's data plane (native/, node-gyp) builds here, against this stage's own Node
# and the OpenSSL it exports: no system OpenSSL, nothing downloaded. Not --optional: an image
# whose build lost its addon would serve the libdatachannel fallback without anyone noticing.
RUN node scripts/build-native.mjs

# Production dependencies only (no TypeScript, Vite, tsx or playwright-core), with node-datachannel's
# addon patched while node_modules is still writable (docs/workarounds.md). The server only checks
# the patched copy at start, and refuses to run the libdatachannel engine without it.
FROM node:${NODE_VERSION}-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY --from=build /app/scripts/patch-addon.mjs ./scripts/
RUN node scripts/patch-addon.mjs

# The image: slim (no toolchain), files owned by root, the server as `node`.
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The addon alone (node-gyp-build loads native/build/Release/*.node), not its object files.
COPY --from=build /app/native/build/Release/webrtc_echo_native.node ./native/build/Release/
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
