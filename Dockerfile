# The fastmcp-proxy command as a container image (docs/deployment.md).

# Build: every package compiled with pnpm (the workspace's own tool), then the command and only its
# production dependencies deployed to /app.
FROM node:20-slim AS build
WORKDIR /src
RUN npm install -g pnpm@10.34.8
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm --filter fastmcp-proxy deploy --prod --legacy /app

# Runtime: Node and /app, owned by root and run as the unprivileged "node" user.
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
USER node
# The config file is mounted here: docker run -v ./mcp.json:/config/mcp.json:ro ...
VOLUME ["/config"]
EXPOSE 8000
# /healthz answers while the process serves; /readyz also asks the backends (use it for a load balancer).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains: /readyz fails, new sessions get 503, calls in flight finish (--drain-timeout, 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/fastmcp-proxy.js"]
CMD ["/config/mcp.json", "--transport", "http", "--host", "0.0.0.0", "--port", "8000"]
