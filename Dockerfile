# Build
FROM rust:1-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when a manifest or the
# lock file changes, not on every source edit. Dummy targets stand in for the sources.
COPY Cargo.toml Cargo.lock ./
COPY migrations/Cargo.toml migrations/Cargo.toml
RUN mkdir -p src migrations/src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs migrations/src/lib.rs \
 && echo 'fn main() {}' > benches/throughput.rs \
 && cargo build --release --locked --bin herald \
 && rm -rf src migrations/src benches
COPY . .
# COPY keeps the sources' (older) timestamps: touch them so cargo rebuilds Herald
# itself instead of keeping the dummy.
RUN touch src/main.rs src/lib.rs migrations/src/lib.rs \
 && cargo build --release --locked --bin herald

# Run
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 herald \
 && useradd --system --uid 10001 --gid herald --home-dir /data --no-create-home --shell /usr/sbin/nologin herald \
 && mkdir -p /data \
 && chown herald:herald /data
COPY --from=build /src/target/release/herald /usr/local/bin/herald
ENV HERALD_LISTEN=0.0.0.0:8080 \
    HERALD_DATABASE_URL=sqlite:///data/herald.db?mode=rwc
# A new named volume takes /data's owner from the image, so Herald can write to it.
VOLUME /data
WORKDIR /data
USER herald:herald
EXPOSE 8080
# /healthz on the port HERALD_LISTEN names (whatever it is set to at run time).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD port="${HERALD_LISTEN##*:}"; curl -fsS -o /dev/null "http://127.0.0.1:${port:-8080}/healthz" || exit 1
ENTRYPOINT ["herald"]
CMD ["serve"]
