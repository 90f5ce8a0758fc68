#!/usr/bin/env bash
# Start a throwaway PostgreSQL (Debian's postgresql package) on 127.0.0.1:${PGPORT:-55432} under
# var/pgtest and print the DATABASE_URL for it. Used by .ci/run to run the suite on Postgres too.
set -euo pipefail
port="${PGPORT:-55432}"
root="$(cd "$(dirname "$0")/.." && pwd)/var/pgtest"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
rm -rf "$root" && mkdir -p "$root"
chown -R postgres "$root" 2>/dev/null || true
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$bin/initdb" -D "$root/data" -U postgres -A trust >/dev/null
as_pg "$bin/pg_ctl" -D "$root/data" -l "$root/log" -o "-p $port -k $root -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null
echo "postgres://postgres@127.0.0.1:$port/postgres"
