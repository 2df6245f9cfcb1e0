# auth-eid container image. Plain multi-stage build; no Docker engine runs on the development
# machines, so this file is kept simple and is not built in CI.
#
#   docker build -t auth-eid .
#   docker run -p 8400:8400 -v /path/to/config.toml:/etc/auth-eid/config.toml:ro auth-eid
#
# The configuration is read from /etc/auth-eid/config.toml (AUTH_EID_CONFIG); inside the
# container set [server] address = "0.0.0.0". Key files named in it must be mounted too.

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/auth-eid

FROM debian:bookworm-slim
# libssl3: what the binary links; curl: the health check; ca-certificates: outbound TLS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home auth-eid
COPY --from=build /src/target/release/auth-eid /usr/local/bin/auth-eid
USER 10001:10001
ENV AUTH_EID_CONFIG=/etc/auth-eid/config.toml
EXPOSE 8400
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://127.0.0.1:8400/health/live || exit 1
ENTRYPOINT ["auth-eid"]
CMD ["serve"]
