# partyline: build with the dev toolchain, run on a slim image as a non-root user.
# (Docker does not run on our CI machines: test/deploy/deploy-files.test.ts checks that it
# copies what the build and the running server need, but no image is built there.)
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY clients ./clients
COPY web ./web
COPY scripts ./scripts
COPY proto ./proto
COPY assets ./assets
# The server, then the pages and the SDK (dist/web, dist/sdk) that it serves.
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8081
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./
COPY proto ./proto
COPY assets ./assets
# A data directory the node user owns: a volume mounted here (PARTYLINE_DATA_DIR=/data in
# deploy/) starts with this owner.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8081)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js", "serve"]
