#!/usr/bin/env bash
# Herald side by side with Prometheus Alertmanager, in one run on this machine, against
# the same local nginx receiver (see BENCHMARKS.md). Machines are noisy: compare the
# ratios printed at the end, not absolute figures across runs.
#
#   bash bench/alertmanager.sh            # everything it can measure here
#   SECONDS_PER_RUN=20 bash bench/alertmanager.sh
#
# Installs prometheus-alertmanager, nginx-light and wrk from the system packages when
# missing. Measures PostgreSQL too when one answers on 127.0.0.1:5432 (user postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The packages start system services; this benchmark runs its own instances.
  systemctl stop prometheus-alertmanager nginx 2>/dev/null || service prometheus-alertmanager stop 2>/dev/null || true
  service nginx stop 2>/dev/null || true
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/herald-target}"
cargo build --release -q
export HERALD_BIN="$CARGO_TARGET_DIR/release/herald"
exec python3 bench/side_by_side.py "$@"
