# Build
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin herald

# Run
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/herald /usr/local/bin/herald
ENV HERALD_LISTEN=0.0.0.0:8080 \
    HERALD_DATABASE_URL=sqlite:///data/herald.db?mode=rwc
VOLUME /data
EXPOSE 8080
HEALTHCHECK CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["herald"]
CMD ["serve"]
