# Build stage: compile TypeScript and the native SQLite binding.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY scripts/copy-ui.mjs ./scripts/
RUN npx tsc -p tsconfig.json && node scripts/copy-ui.mjs && find dist -name '*.test.js*' -delete && npm prune --omit=dev

# Runtime stage: only the compiled code, production dependencies and defaults; runs unprivileged.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    CELLAR_DATA_DIR=/data \
    CELLAR_HOST=0.0.0.0 \
    CELLAR_HTTP_PORT=8080
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
COPY config ./config
RUN mkdir -p /data /app/certs && chown -R node:node /data /app/certs
USER node
VOLUME ["/data", "/app/certs"]
EXPOSE 8080
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve"]
