#!/usr/bin/env bash
# A throwaway PostgreSQL with pgvector for the tests, the same in CI and on a developer's machine.
#
#   source .ci/postgres.sh        starts a server and exports SWITCHYARD_TEST_PG_URL (and SWITCHYARD_TEST_PG_DIR);
#                                 switchyard_pg_stop stops it (also on shell exit when no EXIT trap is set)
#   bash .ci/postgres.sh start    starts a server and prints those two variables as NAME=value lines
#   bash .ci/postgres.sh stop DIR stops the server started in DIR and removes DIR
#
# As root on Debian it installs what is missing: PostgreSQL from the distribution, and pgvector built from
# Debian trixie's source package, since bookworm has no pgvector package for PostgreSQL 15. Without root it
# only uses what is already installed. The cluster runs as a non-root user (initdb and postgres refuse root),
# listens on 127.0.0.1 only, on a free port, with trust authentication and fsync off: it holds test data only.

switchyard_pg_main () {
  set -euo pipefail
  local major=${SWITCHYARD_PG_MAJOR:-15}
  local bindir=/usr/lib/postgresql/$major/bin

  log () { echo "postgres.sh: $*" >&2; }
  now_ms () { date +%s%3N; }

  # Runs a command as the cluster's owner: postgres when we are root, ourselves otherwise.
  as_owner () {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
  }

  installed () { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

  ensure_packages () {
    local missing=() p
    for p in "$@"; do installed "$p" || missing+=("$p"); done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
      log "missing packages: ${missing[*]}; install them (as root: apt-get install ${missing[*]})"
      return 1
    fi
    log "installing ${missing[*]}"
    if [ -z "${apt_updated:-}" ]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  }

  # pgvector from Debian trixie's source package. The trixie sources file and package lists live in a
  # temporary directory, so the machine's own apt sources, lists and caches are left as they were.
  ensure_pgvector () {
    local sharedir
    sharedir=$("$bindir/pg_config" --sharedir)
    if [ -f "$sharedir/extension/vector.control" ]; then return 0; fi
    if [ "$(id -u)" -ne 0 ]; then
      log "pgvector is not installed for PostgreSQL $major; run this as root, or install postgresql-$major-pgvector"
      return 1
    fi
    ensure_packages "postgresql-server-dev-$major" build-essential dpkg-dev
    local work started apt_opts
    work=$(mktemp -d)
    started=$(now_ms)
    mkdir -p "$work/sources" "$work/lists/partial" "$work/src"
    # apt downloads as its unprivileged _apt user where it can write.
    chmod 755 "$work"
    if id _apt >/dev/null 2>&1; then chown _apt "$work/lists/partial" "$work/src"; fi
    cat >"$work/sources/trixie-src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt_opts=(
      -o Dir::Etc::SourceList=/dev/null
      -o "Dir::Etc::SourceParts=$work/sources"
      -o "Dir::State::Lists=$work/lists"
      -o Dir::Cache::pkgcache=
      -o Dir::Cache::srcpkgcache=
    )
    apt-get "${apt_opts[@]}" update -qq
    (cd "$work/src" && apt-get "${apt_opts[@]}" source -qq pgvector >&2)
    local src
    src=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n 1)
    if [ -z "$src" ]; then
      log "apt-get source pgvector left no source tree in $work/src"
      return 1
    fi
    make -C "$src" -s -j"$(nproc)" PG_CONFIG="$bindir/pg_config" >&2
    make -C "$src" -s install PG_CONFIG="$bindir/pg_config" >&2
    rm -rf "$work"
    log "built pgvector $(basename "$src") in $(( $(now_ms) - started )) ms"
  }

  free_port () {
    node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })'
  }

  start () {
    if [ "$(id -u)" -eq 0 ]; then ensure_packages "postgresql-$major"; fi
    if [ ! -x "$bindir/initdb" ]; then
      log "no PostgreSQL $major server in $bindir; install postgresql-$major"
      return 1
    fi
    ensure_pgvector

    local dir started port attempt
    started=$(now_ms)
    dir=$(mktemp -d -t switchyard-pg.XXXXXX)
    chmod 755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
      --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
    # A port picked now may be taken before the server binds it; try a few.
    for attempt in 1 2 3; do
      port=$(free_port)
      if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >/dev/null; then
        log "PostgreSQL $major with pgvector on 127.0.0.1:$port (data in $dir), started in $(( $(now_ms) - started )) ms"
        echo "SWITCHYARD_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/postgres"
        echo "SWITCHYARD_TEST_PG_DIR=$dir"
        return 0
      fi
      log "start on port $port failed (attempt $attempt)"
    done
    cat "$dir/server.log" >&2
    return 1
  }

  stop () {
    local dir=${1:?usage: postgres.sh stop DIR}
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
  }

  case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) log "usage: postgres.sh start | stop DIR (or source it)"; return 2 ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  switchyard_pg_main "$@"
  exit $?
fi

# Sourced: the work runs in a child bash, where set -e holds, and only the variables come back.
unset -f switchyard_pg_main
switchyard_pg_stop () {
  if [ -n "${SWITCHYARD_TEST_PG_DIR:-}" ]; then
    bash "$_switchyard_pg_script" stop "$SWITCHYARD_TEST_PG_DIR"
    unset SWITCHYARD_TEST_PG_URL SWITCHYARD_TEST_PG_DIR
  fi
}

_switchyard_pg_script=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/postgres.sh
if [ -n "${SWITCHYARD_TEST_PG_DIR:-}" ] && [ -f "$SWITCHYARD_TEST_PG_DIR/data/postmaster.pid" ]; then
  echo "postgres.sh: already running: $SWITCHYARD_TEST_PG_URL (switchyard_pg_stop stops it)" >&2
elif _switchyard_pg_env=$(bash "$_switchyard_pg_script" start); then
  while IFS='=' read -r _switchyard_pg_name _switchyard_pg_value; do
    export "$_switchyard_pg_name=$_switchyard_pg_value"
  done <<<"$_switchyard_pg_env"
  unset _switchyard_pg_env _switchyard_pg_name _switchyard_pg_value
  if [ -z "$(trap -p EXIT)" ]; then trap switchyard_pg_stop EXIT; fi
else
  echo "postgres.sh: could not start PostgreSQL" >&2
  unset _switchyard_pg_env
  false
fi
