# Sourced by the test scripts: a private Redis for this run.
#   ensure_redis_server   installs Debian's redis-server when it is missing (apt, non-interactive)
#                         and exports NEXOTP_TEST_REDIS_SERVER (its path).
#   start_redis   installs Debian's redis-server when it is missing, starts one on a random
#                 loopback port without persistence, exports NEXOTP_TEST_REDIS_URL and
#                 NEXOTP_TEST_REDIS_SERVER, and stops it by its PID when the script exits.

ensure_redis_server() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "== installing redis-server (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q redis-server >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }
  fi
  NEXOTP_TEST_REDIS_SERVER="$(command -v redis-server)"
  export NEXOTP_TEST_REDIS_SERVER
}

start_redis() {
  ensure_redis_server
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --loglevel warning >/dev/null 2>&1 &
  REDIS_PID=$!
  trap 'kill "$REDIS_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.05
  done
  export NEXOTP_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
  echo "== redis-server (pid $REDIS_PID) at $NEXOTP_TEST_REDIS_URL"
}
