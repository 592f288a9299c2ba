# guestgate in a container. See docs/operations.md for the bind mounts it needs (it must see the
# host's /proc and share the guest socket folder with the instances).
#
#   docker build -t guestgate .
#   docker run -d --name guestgate --pid=host --network=host \
#     -v /etc/guestgate:/etc/guestgate:ro -v /run/guestgate:/run/guestgate:rshared \
#     -v /var/lib/guestgate:/var/lib/guestgate guestgate

# --- build: install production dependencies (koffi ships prebuilt native binaries in its package)
FROM node:24-bookworm-slim AS build
WORKDIR /opt/guestgate
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY templates ./templates

# --- runtime: Node 24 runs the TypeScript sources directly (type stripping); genisoimage for `seed --iso`
FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends genisoimage tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/guestgate
COPY --from=build /opt/guestgate ./
RUN ln -s /opt/guestgate/bin/guestgate.js /usr/local/bin/guestgate
ENV NODE_ENV=production GUESTGATE_CONFIG=/etc/guestgate/guestgate.yaml
VOLUME ["/run/guestgate", "/var/lib/guestgate"]
# NoCloud over HTTP when enabled in the config (nocloud.listen); the admin API stays on its unix socket.
EXPOSE 8080
# /healthz on the admin socket (default <runtime_dir>/admin.sock): healthy while it answers 200; its body
# ({"status":"ok"|"degraded","reasons":[...]}) is kept in `docker inspect` (a restart would not fix a
# refused inventory file, so "degraded" stays healthy).
HEALTHCHECK --interval=30s --timeout=5s CMD ["node", "-e", "require('node:http').get({socketPath:'/run/guestgate/admin.sock',path:'/healthz'},r=>{r.pipe(process.stdout);r.on('end',()=>process.exit(r.statusCode===200?0:1))}).on('error',e=>{console.error(e.message);process.exit(1)})"]
ENTRYPOINT ["/usr/bin/tini", "--", "guestgate"]
CMD ["serve", "--config", "/etc/guestgate/guestgate.yaml"]
