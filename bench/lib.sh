# Shared helpers for the benchmark scripts in bench/: installs what they
# need, builds provisiond in Release mode, starts a throwaway PostgreSQL
# cluster with fsync on (tests/fixtures/pg-fixture) and runs daemons.
#
# Source it, then call bench_setup.  Everything started here is stopped by
# the exit trap.  Environment:
#   PROVISIOND, PROVISIOND_WORKER, PROVISIONCTL  use these programs and skip
#                         the build (the ctest entries set them)
#   BENCH_SKIP_APT=1      do not install Debian packages
#   BENCH_KEEP=1          keep the temporary folder with the logs

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
PG_FIXTURE=$ROOT/tests/fixtures/pg-fixture
GRAPHILE_VERSION=0.17.3
BENCH_NAME=$(basename "$0")

WORK_DIR=""
PG_DIR=""
DB=""
DB_SOCKET=""
DAEMON_PID=""

log() {
	echo "[$(date +%T)] $BENCH_NAME: $*" >&2
}

die() {
	log "error: $*"
	exit 1
}

bench_cleanup() {
	local rc=$?

	set +e
	stop_daemon
	[ -n "$PG_DIR" ] && "$PG_FIXTURE" stop "$PG_DIR" >/dev/null 2>&1
	[ -n "$WORK_DIR" ] && [ "${BENCH_KEEP:-0}" != 1 ] && rm -rf "$WORK_DIR"
	exit "$rc"
}

# Installs the Debian packages and graphile-worker into bench/graphile,
# which git ignores.
install_tools() {
	install_debian_packages
	install_graphile
}

# Installs the build and test dependencies (sshd, Apache and sudo among
# them) unless BENCH_SKIP_APT=1.
install_debian_packages() {
	[ "${BENCH_SKIP_APT:-0}" != 1 ] || return 0
	"$ROOT/scripts/install-deps"
}

install_graphile() {
	if [ "${BENCH_SKIP_APT:-0}" != 1 ]; then
		if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
			[ "$(id -u)" = 0 ] || die "node and npm are missing; run as root: apt-get install -y nodejs npm"
			apt-get install -y --no-install-recommends nodejs npm >&2
		fi
	fi
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		log "SKIP: node and npm are missing; bench/run-all installs them"
		exit 77
	fi
	if [ ! -f "$BENCH_DIR/graphile/node_modules/graphile-worker/package.json" ] ||
		! grep -q "\"version\": \"$GRAPHILE_VERSION\"" \
			"$BENCH_DIR/graphile/node_modules/graphile-worker/package.json"; then
		log "installing graphile-worker $GRAPHILE_VERSION into bench/graphile"
		mkdir -p "$BENCH_DIR/graphile"
		npm install --no-audit --no-fund --prefix "$BENCH_DIR/graphile" \
			"graphile-worker@$GRAPHILE_VERSION" >&2
	fi
}

# Builds provisiond in Release mode into build-release, unless PROVISIOND
# names a program to use as it is.
build_release() {
	local build=$ROOT/build-release

	if [ -z "${PROVISIOND:-}" ]; then
		log "building provisiond (Release) in $build"
		cmake -S "$ROOT" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
		cmake --build "$build" -j "$(nproc)" --target provisiond provisiond-worker provisionctl \
			sync-tree >/dev/null
		PROVISIOND=$build/daemon/provisiond
		PROVISIOND_WORKER=$build/worker/provisiond-worker
		PROVISIONCTL=$build/ctl/provisionctl
		SYNC_TREE=$build/tests/sync/sync-tree
	fi
	for program in "$PROVISIOND" "$PROVISIOND_WORKER" "$PROVISIONCTL"; do
		[ -x "$program" ] || die "$program is missing; build the project first"
	done
}

psql_q() {
	psql -qAtX -v ON_ERROR_STOP=1 "$@"
}

sql() {
	psql_q -c "$1"
}

# Starts the cluster with fsync on and pg_stat_statements loaded, and
# applies provisiond's migrations.
start_database() {
	local env_lines bindir

	PG_DIR=$WORK_DIR/pg
	env_lines=$(PG_FIXTURE_FSYNC=on "$PG_FIXTURE" start "$PG_DIR") || die "PostgreSQL did not start"
	eval "$env_lines"
	export PGHOST PGPORT PGUSER PGDATABASE
	DB="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"
	# pg-fixture puts the server's Unix socket in PG_DIR/run.
	DB_SOCKET="host=$PG_DIR/run port=$PGPORT user=$PGUSER dbname=$PGDATABASE"

	# pg_stat_statements counts the statements each peer runs per task; it
	# can only be loaded at server start.
	sql "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
	bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgresql.log" \
			-m fast -w -t 60 restart >/dev/null
	else
		"$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgresql.log" -m fast -w -t 60 restart >/dev/null
	fi
	sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
	"$PROVISIONCTL" -d "$DB" migrate >/dev/null || die "provisionctl migrate failed"
	log "PostgreSQL $(sql 'SHOW server_version') on port $PGPORT, fsync $(sql 'SHOW fsync'), files in $WORK_DIR"
}

# bench_setup [--without-graphile]: installs what the benchmark needs,
# builds, and starts PostgreSQL.  --without-graphile is for benchmarks
# that measure provisiond alone and need no node.
bench_setup() {
	if [ "${1:-}" = --without-graphile ]; then
		install_debian_packages
	else
		install_tools
	fi
	build_release
	WORK_DIR=$(mktemp -d /tmp/provisiond-bench.XXXXXX)
	chmod 755 "$WORK_DIR"
	trap bench_cleanup EXIT
	start_database
}

# start_daemon [SETTING=VALUE...]: writes a config file with these settings
# and runs provisiond in the background until stop_daemon.  It waits until
# the daemon is connected and claiming.  The daemon connects with DAEMON_DB
# when it is set, else with DB.
start_daemon() {
	local config=$WORK_DIR/provisiond.conf line i

	{
		echo "database = \"${DAEMON_DB:-$DB}\""
		echo "worker_program = $PROVISIOND_WORKER"
		echo "base_dir = $WORK_DIR"
		for line in "$@"; do
			echo "${line%%=*} = ${line#*=}"
		done
	} >"$config"
	: >"$WORK_DIR/provisiond.log"
	"$PROVISIOND" -c "$config" >>"$WORK_DIR/provisiond.log" 2>&1 &
	DAEMON_PID=$!
	for ((i = 0; i < 200; i++)); do
		grep -qF "connected to the database; claiming tasks" "$WORK_DIR/provisiond.log" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$WORK_DIR/provisiond.log" >&2
	die "provisiond did not connect within 20 s; its log is above"
}

stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null || true
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=""
}

# Empties the queue tables and the statement statistics between runs.
reset_tables() {
	sql "TRUNCATE provision.task_log, provision.tasks; DELETE FROM provision.daemons" >/dev/null
	sql "DO \$\$ BEGIN
		IF to_regclass('graphile_worker._private_jobs') IS NOT NULL THEN
			DELETE FROM graphile_worker._private_jobs;
		END IF;
	END \$\$" >/dev/null
	sql "VACUUM ANALYZE" >/dev/null 2>&1 || true
	sql "SELECT pg_stat_statements_reset()" >/dev/null
}

driver() {
	node "$BENCH_DIR/driver.js" "$@"
}

# Prints the median of the numbers on standard input.
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Prints the value of KEY in the one-line JSON object TEXT.
json_field() {
	python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# Prints a line describing the machine and the versions, for the results page.
describe_machine() {
	describe_hardware
	echo "versions: PostgreSQL $(sql 'SHOW server_version'), node $(node --version)," \
		"graphile-worker $GRAPHILE_VERSION, provisiond $("$PROVISIONCTL" --version | awk '{ print $2 }'), $(uname -sr)"
}

# Prints the cores, memory and CPU model, and the load average right now.
describe_hardware() {
	echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB memory," \
		"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
		"load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
