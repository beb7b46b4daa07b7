#!/usr/bin/env bash
# Starts the real servers the test suite talks to, on loopback only, runs a command with their
# addresses in the environment, and stops them afterwards (also on failure or Ctrl-C):
#
#   scripts/test-services.sh run -- ctest --preset release
#
# Ports sit above Linux's ephemeral range (32768-60999) so no outgoing connection holds them.
#   PostgreSQL 15  a throwaway cluster (initdb) on 127.0.0.1:$KEELSON_TEST_PG_PORT (61432)
#                  -> KEELSON_TEST_PG_DSN
#   OpenSSH sshd   on 127.0.0.1:$KEELSON_TEST_SFTP_PORT (61222) with a generated host key, a test
#                  user (keelson-sftp) that logs in with a generated ed25519 key, internal-sftp
#                  -> KEELSON_TEST_SFTP_HOST, _PORT, _USER, _KEY, _ROOT (the user's home),
#                     _HOST_KEY (the server's public host key, for known_hosts / pinning)
#   nats-server    with JetStream on 127.0.0.1:$KEELSON_TEST_NATS_PORT (61422)
#                  -> KEELSON_TEST_NATS_URL
#
# Tests that need one of these read the variable and skip (GTEST_SKIP, saying why) when it is
# unset, so `keelson_tests` still runs on its own; `make test` (and so CI) always sets them.
# Everything lives under $KEELSON_TEST_SERVICES_DIR (default /tmp/keelson-test-services) and is
# removed on stop. The packages come from deps/debian-packages.txt (scripts/install-deps.sh).
# KEELSON_TEST_SERVICES picks which to start (default "postgres sshd nats"); with other ports and
# KEELSON_TEST_SERVICES_DIR two runs can share a machine (sshd's test user is machine-wide: give
# it to one run at a time).
set -euo pipefail

dir=${KEELSON_TEST_SERVICES_DIR:-/tmp/keelson-test-services}
pg_port=${KEELSON_TEST_PG_PORT:-61432}
ssh_port=${KEELSON_TEST_SFTP_PORT:-61222}
nats_port=${KEELSON_TEST_NATS_PORT:-61422}
sftp_user=keelson-sftp
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)

log() { echo "test-services: $*" >&2; }

wait_for_port() {  # name port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "$1 did not open 127.0.0.1:$2 within $3 s"
  return 1
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  [ -n "$pg_bin" ] || { log "PostgreSQL is not installed (package postgresql)"; return 1; }
  local data=$dir/pg
  mkdir -p "$data"
  [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$data"
  as_postgres "$pg_bin/initdb" -D "$data" -U keelson --auth=trust -E UTF8 --no-locale \
    >"$dir/pg-initdb.log" 2>&1 || { cat "$dir/pg-initdb.log" >&2; return 1; }
  # A test database is disposable: no fsync, so the suite measures Keelson, not this disk.
  as_postgres "$pg_bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-p $pg_port -k $data -c listen_addresses=127.0.0.1 -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start \
    >/dev/null || { cat "$data/server.log" >&2; return 1; }
  "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U keelson keelson_test
  export KEELSON_TEST_PG_DSN="host=127.0.0.1 port=$pg_port user=keelson dbname=keelson_test"
  log "PostgreSQL on 127.0.0.1:$pg_port"
}

start_sshd() {
  [ -x /usr/sbin/sshd ] || { log "sshd is not installed (package openssh-server)"; return 1; }
  [ "$(id -u)" -eq 0 ] || { log "sshd needs root (a test user is created)"; return 1; }
  local s=$dir/ssh home=$dir/sftp-home
  mkdir -p "$s" "$home" /run/sshd
  id -u "$sftp_user" >/dev/null 2>&1 ||
    useradd --system --no-create-home --home-dir "$home" --shell /bin/sh "$sftp_user"
  # "!" (locked) makes sshd refuse even key logins without PAM; "*" only forbids passwords.
  usermod -p '*' "$sftp_user"
  usermod -d "$home" "$sftp_user" >/dev/null 2>&1 || true
  chown "$sftp_user" "$home"
  ssh-keygen -q -t ed25519 -N '' -f "$s/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$s/client_key"
  cp "$s/client_key.pub" "$s/authorized_keys"
  chmod 644 "$s/authorized_keys"
  cat >"$s/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $s/host_key
PidFile $s/sshd.pid
AuthorizedKeysFile $s/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $sftp_user
UsePAM no
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
EOF
  /usr/sbin/sshd -f "$s/sshd_config" -E "$s/sshd.log"
  wait_for_port sshd "$ssh_port" 20 || { cat "$s/sshd.log" >&2; return 1; }
  export KEELSON_TEST_SFTP_HOST=127.0.0.1 KEELSON_TEST_SFTP_PORT=$ssh_port
  export KEELSON_TEST_SFTP_USER=$sftp_user KEELSON_TEST_SFTP_KEY=$s/client_key
  export KEELSON_TEST_SFTP_ROOT=$home KEELSON_TEST_SFTP_HOST_KEY=$s/host_key.pub
  log "sshd (SFTP) on 127.0.0.1:$ssh_port as $sftp_user"
}

start_nats() {
  command -v nats-server >/dev/null || { log "nats-server is not installed"; return 1; }
  mkdir -p "$dir/nats"
  nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$dir/nats" -P "$dir/nats.pid" \
    -l "$dir/nats.log" &
  wait_for_port nats-server "$nats_port" 20 || { cat "$dir/nats.log" >&2; return 1; }
  export KEELSON_TEST_NATS_URL=nats://127.0.0.1:$nats_port
  log "nats-server (JetStream) on 127.0.0.1:$nats_port"
}

stop_all() {
  if [ -n "$pg_bin" ] && [ -f "$dir/pg/postmaster.pid" ]; then
    as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  for pidfile in "$dir/ssh/sshd.pid" "$dir/nats.pid"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 0.2
  rm -rf "$dir"
}

case "${1:-}" in
  run)
    shift
    [ "${1:-}" = "--" ] && shift
    stop_all  # whatever a killed run left behind
    mkdir -p "$dir"
    chmod 755 "$dir"
    trap stop_all EXIT
    trap 'exit 130' INT TERM
    for service in ${KEELSON_TEST_SERVICES:-postgres sshd nats}; do
      case "$service" in
        postgres) start_postgres ;;
        sshd) start_sshd ;;
        nats) start_nats ;;
        *) log "unknown service $service (postgres, sshd, nats)"; exit 2 ;;
      esac
    done
    "$@"
    ;;
  stop) stop_all ;;
  *)
    echo "usage: $0 run -- COMMAND [ARGS...] | stop" >&2
    exit 2
    ;;
esac
