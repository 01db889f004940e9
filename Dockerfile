# syntax=docker/dockerfile:1.7
# recon-server: one small image, one binary, every role behind --target.
# The dependency layer is built from a cargo-chef recipe, so editing our sources rebuilds only
# our crates.

FROM rust:1.95-bookworm AS chef
# cmake and clang build the BoringSSL of the impersonating HTTP client used by validation.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake clang libclang-dev \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version 0.1.71
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json --package recon-server
COPY . .
RUN cargo build --release --locked --package recon-server --bin recon-server \
 && cp target/release/recon-server /recon-server \
 && strip /recon-server

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 recon \
 && useradd --system --uid 10001 --gid recon --home-dir /var/lib/browser-recon --create-home recon
COPY --from=builder /recon-server /usr/local/bin/recon-server
USER 10001:10001
ENV RECON_DATA_DIR=/var/lib/browser-recon \
    RECON_LISTEN=0.0.0.0:8080 \
    RECON_OPS_LISTEN=0.0.0.0:9090
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/recon-server"]
CMD ["--target", "all"]
