#!/usr/bin/env bash
# The read-path benchmark: Koppel beside PostGraphile 5 on the same freshly seeded PostgreSQL database.
# See README.md beside this file. Benchmark only: nothing in Koppel or its tests runs this.
#
#   bash bench/read-path/run.sh
#
# Settings (environment): ROUNDS=3 DURATION=10s WARMUP=3s THREADS=2 CONNECTIONS=64 LATENCY_DURATION=5s
# COUNT_REQUESTS=500 BENCH_DB=koppel_bench_read PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=postgres
# PG5_PORT=5678 KOPPEL_BIN=target/release/koppel RESULTS_DIR=bench/read-path/results KEEP_DB=0
# PROFILE=QUERY: perf profiles of Koppel under one query's load instead of the rounds (see below).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-3s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
LATENCY_DURATION="${LATENCY_DURATION:-5s}"
COUNT_REQUESTS="${COUNT_REQUESTS:-500}"
BENCH_DB="${BENCH_DB:-koppel_bench_read}"
PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-postgres}"
PG5_PORT="${PG5_PORT:-5678}"
KOPPEL_BIN="${KOPPEL_BIN:-$ROOT/target/release/koppel}"
RESULTS_DIR="${RESULTS_DIR:-$HERE/results}"
KEEP_DB="${KEEP_DB:-0}"
DATABASE_URL="postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${BENCH_DB}"
# pg_stat_database is written by each backend at most every 10 s while it is idle: wait that long
# before reading the transaction counts of a window.
STATS_FLUSH_SECONDS=11

step() { printf '\n==> %s\n' "$*" >&2; }
fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
psql_admin() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -X -q -v ON_ERROR_STOP=1 "$@" </dev/null; }
psql_bench() { psql_admin -d "$BENCH_DB" "$@"; }

# --- what the benchmark needs ---------------------------------------------------------------------

apt_install() {
    step "installing $* (Debian packages)"
    apt-get update -qq </dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" </dev/null >/dev/null
}
missing=()
for tool in wrk curl jq psql pg_isready; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    packages=()
    for tool in "${missing[@]}"; do
        case "$tool" in
        psql | pg_isready) packages+=(postgresql-client) ;;
        *) packages+=("$tool") ;;
        esac
    done
    apt_install $(printf '%s\n' "${packages[@]}" | sort -u)
fi
command -v npm >/dev/null || apt_install nodejs npm

# PostGraphile 5 and the Node 22 it needs (the npm `node` package), from package-lock.json.
if [ ! -x "$HERE/node_modules/.bin/node" ] || [ ! -d "$HERE/node_modules/postgraphile" ] ||
    [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
    step "npm ci in bench/read-path"
    (cd "$HERE" && npm ci --no-audit --no-fund </dev/null >&2)
fi
NODE="$HERE/node_modules/.bin/node"
"$NODE" --version >/dev/null || fail "the local Node ($NODE) does not run"

if [ ! -x "$KOPPEL_BIN" ]; then
    step "cargo build --release --bin koppel"
    (cd "$ROOT" && cargo build --release --bin koppel </dev/null >&2)
fi

# A binary older than the sources it is built from measures code that is no longer there: say so.
KOPPEL_BUILT="$(date -u -r "$KOPPEL_BIN" '+%Y-%m-%d %H:%M UTC')"
STALE=""
if [ "$KOPPEL_BIN" = "$ROOT/target/release/koppel" ] &&
    [ -n "$(cd "$ROOT" && find Cargo.toml Cargo.lock src api entity migration daemon -newer "$KOPPEL_BIN" \
        \( -name '*.rs' -o -name 'Cargo.*' \) -print -quit 2>/dev/null)" ]; then
    STALE=" (older than its sources: rebuild with cargo build --release --bin koppel)"
    echo "warning: $KOPPEL_BIN (built $KOPPEL_BUILT) is older than its sources" >&2
fi

step "PostgreSQL on ${PG_HOST}:${PG_PORT}"
pg_isready -h "$PG_HOST" -p "$PG_PORT" >/dev/null ||
    fail "PostgreSQL does not answer on ${PG_HOST}:${PG_PORT} (start it, e.g. as .ci/run does)"

# --- cleanup --------------------------------------------------------------------------------------

work="$(mktemp -d)"
koppel_pid=""
pg5_pid=""
cleanup() {
    local status=$?
    set +e
    [ -n "$pg5_pid" ] && kill "$pg5_pid" 2>/dev/null
    [ -n "$koppel_pid" ] && kill "$koppel_pid" 2>/dev/null
    [ -n "$pg5_pid" ] && wait "$pg5_pid" 2>/dev/null
    [ -n "$koppel_pid" ] && wait "$koppel_pid" 2>/dev/null
    if [ "$status" -ne 0 ]; then
        for log in "$work/koppel.log" "$work/pg5.log"; do
            [ -s "$log" ] && { printf '\n--- last lines of %s\n' "$(basename "$log")" >&2; tail -n 20 "$log" >&2; }
        done
    fi
    if [ "$KEEP_DB" != 1 ]; then
        psql_admin -c "drop database if exists ${BENCH_DB} with (force)" 2>/dev/null
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- database and Koppel --------------------------------------------------------------------------

step "fresh database ${BENCH_DB}"
psql_admin -c "drop database if exists ${BENCH_DB} with (force)" 2>/dev/null
psql_admin -c "create database ${BENCH_DB}"

koppel_env=(
    "KOPPEL_DATABASE_URL=$DATABASE_URL"
    "KOPPEL_DATA_DIR=$work/koppel-data"
    "KOPPEL_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
    "KOPPEL_MASTER_KEY=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
    "KOPPEL_LOG_FORMAT=json"
)

step "starting Koppel ($KOPPEL_BIN serve --no-daemon); it applies the migrations"
env "${koppel_env[@]}" \
    KOPPEL_BIND=127.0.0.1:0 \
    KOPPEL_GRAPHIQL=false \
    KOPPEL_RATE_LIMIT_PER_ADDRESS=1000000 \
    KOPPEL_RATE_LIMIT_PER_TOKEN=1000000 \
    "$KOPPEL_BIN" serve --no-daemon </dev/null >"$work/koppel.out" 2>"$work/koppel.log" &
koppel_pid=$!
KOPPEL_URL=""
for _ in $(seq 300); do
    KOPPEL_URL="$(sed -n 's/^Koppel is listening on \(http:[^ ]*\)$/\1/p' "$work/koppel.out")"
    [ -n "$KOPPEL_URL" ] && curl -sf "${KOPPEL_URL%/graphql}/readyz" >/dev/null && break
    kill -0 "$koppel_pid" 2>/dev/null || fail "koppel serve exited before it was ready"
    sleep 0.2
done
[ -n "$KOPPEL_URL" ] || fail "koppel serve did not say where it listens"
KOPPEL_BASE="${KOPPEL_URL%/graphql}"
echo "Koppel: $KOPPEL_URL (pid $koppel_pid)" >&2

step "account bench with admin user admin"
ADMIN_PASSWORD="bench-$(head -c 18 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
env "${koppel_env[@]}" KOPPEL_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    "$KOPPEL_BIN" account create --name bench --admin admin </dev/null >"$work/account.out" 2>>"$work/account.log" ||
    { cat "$work/account.out" "$work/account.log" >&2; fail "koppel account create failed"; }
ACCOUNT_ID="$(psql_bench -At -c "select id from accounts where name = 'bench'")"
[ -n "$ACCOUNT_ID" ] || fail "the account bench is not in the database"

step "seeding 100 suppliers and 2,000 products (seed.sql), then ANALYZE"
psql_bench -v account_id="$ACCOUNT_ID" -f "$HERE/seed.sql"
psql_bench -At -F ' ' -c "select count(*), count(parent_id), count(supplier_id) from products" |
    { read -r products parents suppliers; echo "products: $products, with a parent: $parents, with a supplier: $suppliers" >&2; }

# A GraphQL request: gql URL TOKEN QUERY; prints the response body.
gql() {
    local url=$1 token=$2 query=$3
    local args=(-sS --fail-with-body -X POST -H 'Content-Type: application/json' -H 'Accept: application/json')
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    curl "${args[@]}" --data "$(jq -nc --arg q "$query" '{query: $q}')" "$url"
}

step "signing in"
login="$(curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' "$KOPPEL_URL" --data "$(
    jq -nc --arg p "$ADMIN_PASSWORD" '{query: "mutation Login($input: LoginInput!) { login(input: $input) { session { token } userErrors { field message } } }", variables: {input: {account: "bench", username: "admin", password: $p}}}'
)")"
TOKEN="$(jq -r '.data.login.session.token // empty' <<<"$login")"
[ -n "$TOKEN" ] || fail "login failed: $login"

# --- PostGraphile 5 -------------------------------------------------------------------------------

step "starting PostGraphile 5 (Amber preset, graphile.config.mjs) with $("$NODE" --version)"
(cd "$HERE" && exec env DATABASE_URL="$DATABASE_URL" PG_PORT="$PG5_PORT" NODE_ENV=production GRAPHILE_ENV=production \
    "$NODE" "$HERE/node_modules/.bin/postgraphile" -C "$HERE/graphile.config.mjs" </dev/null >"$work/pg5.log" 2>&1) &
pg5_pid=$!
PG5_URL="http://127.0.0.1:${PG5_PORT}/graphql"
for _ in $(seq 300); do
    curl -sf -X POST -H 'Content-Type: application/json' --data '{"query":"{ __typename }"}' "$PG5_URL" >/dev/null 2>&1 && break
    kill -0 "$pg5_pid" 2>/dev/null || fail "PostGraphile exited before it was ready"
    sleep 0.2
done
curl -sf -X POST -H 'Content-Type: application/json' --data '{"query":"{ __typename }"}' "$PG5_URL" >/dev/null ||
    fail "PostGraphile did not answer on $PG5_URL"
# The subshell above execs into node, so pg5_pid is the node process (its CPU is what is measured).
[ "$(cat "/proc/$pg5_pid/comm")" = node ] || fail "pid $pg5_pid is $(cat "/proc/$pg5_pid/comm"), not node"
echo "PostGraphile 5: $PG5_URL (pid $pg5_pid)" >&2

# --- the queries, and the same rows from both -----------------------------------------------------

QUERIES=(products three floor typename)
declare -A LABEL=(
    [products]='`products(first: 20) { name sku supplier { name } }`, req/s'
    [three]='three levels (product → parent product → its supplier), req/s'
    [floor]='authenticated floor (`me { username }` vs PostGraphile'"'"'s `query { __typename }`), req/s'
    [typename]='`{ __typename }` without a token, req/s'
)
declare -A Q_KOPPEL=(
    [products]='query { products(first: 20) { nodes { name sku supplier { name } } } }'
    [three]='query { products(first: 20) { nodes { name parent { name supplier { name } } } } }'
    [floor]='query { me { username } }'
    [typename]='{ __typename }'
)
# Koppel pages in id order within the caller's account; PostGraphile gets the same order and filter.
PG5_ARGS="first: 20, orderBy: [PRIMARY_KEY_ASC], condition: { accountId: \"$ACCOUNT_ID\" }"
declare -A Q_PG5=(
    [products]="query { allProducts($PG5_ARGS) { nodes { name sku supplierBySupplierId { name } } } }"
    [three]="query { allProducts($PG5_ARGS) { nodes { name productByParentId { name supplierBySupplierId { name } } } } }"
    [floor]='query { __typename }'
    [typename]='{ __typename }'
)
# The token goes with the authenticated queries to both servers (PostGraphile ignores it).
declare -A WITH_TOKEN=([products]=1 [three]=1 [floor]=1 [typename]=0)
token_for() { [ "${WITH_TOKEN[$1]}" = 1 ] && echo "$TOKEN" || true; }

step "checking that both servers return the same rows"
check_same() {
    local query=$1 koppel_filter=$2 pg5_filter=$3 koppel pg5
    koppel="$(gql "$KOPPEL_URL" "$(token_for "$query")" "${Q_KOPPEL[$query]}")"
    pg5="$(gql "$PG5_URL" "$(token_for "$query")" "${Q_PG5[$query]}")"
    for body in "$koppel" "$pg5"; do
        jq -e '(.errors | not) and (.data != null)' <<<"$body" >/dev/null || fail "$query: an error: $body"
    done
    koppel="$(jq -c "$koppel_filter" <<<"$koppel")"
    pg5="$(jq -c "$pg5_filter" <<<"$pg5")"
    [ "$koppel" = "$pg5" ] || fail "$query: different rows
Koppel:         $koppel
PostGraphile 5: $pg5"
    echo "$query: same rows ($(jq -r "$4" <<<"$koppel"))" >&2
}
check_same products '[.data.products.nodes[] | [.name, .sku, .supplier.name]]' \
    '[.data.allProducts.nodes[] | [.name, .sku, .supplierBySupplierId.name]]' \
    '"\(length) products, first \(.[0][0]), \(map(select(.[2] != null)) | length) with a supplier"'
check_same three '[.data.products.nodes[] | [.name, .parent.name, .parent.supplier.name]]' \
    '[.data.allProducts.nodes[] | [.name, .productByParentId.name, .productByParentId.supplierBySupplierId.name]]' \
    '"\(length) products, \(map(select(.[1] != null)) | length) with a parent, \(map(select(.[2] != null)) | length) parents with a supplier"'
check_same floor '.data | (.me.username // .__typename) | type' '.data | (.me.username // .__typename) | type' \
    '"Koppel: me { username }, PostGraphile 5: __typename; strings from both"'
[ "$(gql "$KOPPEL_URL" "$TOKEN" "${Q_KOPPEL[floor]}" | jq -r .data.me.username)" = admin ] ||
    fail "Koppel's me { username } is not admin"
check_same typename '.data.__typename | type' '.data.__typename | type' '"a type name from both"'

# --- measuring ------------------------------------------------------------------------------------

mkdir -p "$RESULTS_DIR"
rm -f "$RESULTS_DIR"/*.txt "$RESULTS_DIR"/*.md
CLK_TCK="$(getconf CLK_TCK)"

server_url() { [ "$1" = koppel ] && echo "$KOPPEL_URL" || echo "$PG5_URL"; }
server_pid() { [ "$1" = koppel ] && echo "$koppel_pid" || echo "$pg5_pid"; }
server_query() { [ "$1" = koppel ] && echo "${Q_KOPPEL[$2]}" || echo "${Q_PG5[$2]}"; }
# utime + stime of a process (all its threads), in clock ticks; the fields after "(comm) ".
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# The CPU ticks of every PostgreSQL process, as "pid ticks" lines; pg_ticks_between BEFORE AFTER sums what
# each process spent between the two (one that started in between counts whole; one that exited in between
# takes its ticks with it: the pools keep their backends connected through a load run, and both servers'
# statements cost CPU there, on the same two cores).
pg_ticks() {
    local pid
    for pid in $(pgrep -x postgres); do
        echo "$pid $(cpu_ticks "$pid" 2>/dev/null || echo 0)"
    done
}
pg_ticks_between() {
    awk 'NR == FNR { before[$1] = $2; next } { total += $2 - (($1 in before) ? before[$1] : 0) } END { print total + 0 }' \
        <(echo "$1") <(echo "$2")
}
# A wrk duration like 76.54ms, 850.10us, 1.30s or 1.00m, in milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0;
    else if (v ~ /s$/) n *= 1000; else if (v ~ /m$/) n *= 60000; printf "%.3f", n }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "–"; else printf "%.2f", a / b }'; }

# run_wrk OUT SERVER QUERY THREADS CONNECTIONS DURATION
run_wrk() {
    local out=$1 server=$2 query=$3
    BENCH_BODY="$(jq -nc --arg q "$(server_query "$server" "$query")" '{query: $q}')" \
        BENCH_TOKEN="$(token_for "$query")" \
        wrk -t"$4" -c"$5" -d"$6" --latency -s "$HERE/post.lua" "$(server_url "$server")" >"$out" 2>&1 ||
        { cat "$out" >&2; fail "wrk failed against $server"; }
    if grep -q 'Non-2xx' "$out"; then
        cat "$out" >&2
        fail "$server answered $query with non-2xx responses (rate limit? errors?)"
    fi
}
wrk_field() { # wrk_field OUT rps|requests|p50|p99|errors
    case "$2" in
    rps) awk '/^Requests\/sec:/ { print $2 }' "$1" ;;
    requests) awk '/ requests in / { print $1 }' "$1" ;;
    p50) to_ms "$(awk '$1 == "50%" { print $2 }' "$1")" ;;
    p99) to_ms "$(awk '$1 == "99%" { print $2 }' "$1")" ;;
    errors) { grep -o 'Socket errors:.*' "$1" || true; } ;;
    esac
}

# PROFILE=QUERY (products, three, floor or typename): instead of the rounds, profile one load of that
# query against Koppel with perf: the whole machine by process and library (who burns the two cores),
# then Koppel alone with call graphs. Reports in the results directory; no table.
if [ -n "${PROFILE:-}" ]; then
    [ -n "${Q_KOPPEL[$PROFILE]:-}" ] || fail "PROFILE must be one of ${QUERIES[*]}"
    command -v perf >/dev/null || apt_install linux-perf
    run_wrk "$work/warmup.txt" koppel "$PROFILE" "$THREADS" "$CONNECTIONS" "$WARMUP"
    seconds="$(to_ms "$DURATION" | awk '{ printf "%d", $1 / 1000 }')"
    step "perf: the whole machine for ${seconds}s under $PROFILE"
    perf record -a -F 499 -o "$RESULTS_DIR/perf-machine.data" -- sleep "$seconds" 2>"$work/perf.log" &
    perf_pid=$!
    run_wrk "$RESULTS_DIR/profile-machine-$PROFILE.txt" koppel "$PROFILE" "$THREADS" "$CONNECTIONS" "$DURATION"
    wait "$perf_pid"
    perf report -i "$RESULTS_DIR/perf-machine.data" --sort comm,dso --percent-limit 0.5 --stdio \
        >"$RESULTS_DIR/perf-machine-$PROFILE.txt" 2>/dev/null
    step "perf: Koppel with call graphs for ${seconds}s under $PROFILE"
    perf record -p "$koppel_pid" -F 499 --call-graph dwarf,16384 -o "$RESULTS_DIR/perf-koppel.data" \
        -- sleep "$seconds" 2>>"$work/perf.log" &
    perf_pid=$!
    run_wrk "$RESULTS_DIR/profile-koppel-$PROFILE.txt" koppel "$PROFILE" "$THREADS" "$CONNECTIONS" "$DURATION"
    wait "$perf_pid"
    perf report -i "$RESULTS_DIR/perf-koppel.data" --no-children --sort symbol --percent-limit 0.7 --stdio \
        -g none >"$RESULTS_DIR/perf-koppel-$PROFILE.txt" 2>/dev/null
    perf report -i "$RESULTS_DIR/perf-koppel.data" --children --sort symbol --percent-limit 3 --stdio \
        -g none >"$RESULTS_DIR/perf-koppel-children-$PROFILE.txt" 2>/dev/null
    head -n 40 "$RESULTS_DIR/perf-machine-$PROFILE.txt"
    echo "(Koppel's profile: $RESULTS_DIR/perf-koppel-$PROFILE.txt, perf-koppel-children-$PROFILE.txt)"
    exit 0
fi

declare -A RPS P99 CPU PGCPU LAT STMT
echo "round server query req/s p99_ms cpu_us_per_req postgres_cpu_us_per_req requests socket_errors" >"$RESULTS_DIR/rounds.txt"
for round in $(seq "$ROUNDS"); do
    # Koppel first in odd rounds, PostGraphile first in even ones.
    if [ $((round % 2)) = 1 ]; then order=(koppel pg5); else order=(pg5 koppel); fi
    for query in "${QUERIES[@]}"; do
        for server in "${order[@]}"; do
            step "round $round/$ROUNDS: $server, $query (${THREADS} threads, ${CONNECTIONS} connections, $DURATION after $WARMUP warm-up)"
            run_wrk "$work/warmup.txt" "$server" "$query" "$THREADS" "$CONNECTIONS" "$WARMUP"
            out="$RESULTS_DIR/load-$server-$query-$round.txt"
            pid="$(server_pid "$server")"
            before="$(cpu_ticks "$pid")"
            pg_before="$(pg_ticks)"
            run_wrk "$out" "$server" "$query" "$THREADS" "$CONNECTIONS" "$DURATION"
            after="$(cpu_ticks "$pid")"
            pg_after="$(pg_ticks)"
            requests="$(wrk_field "$out" requests)"
            per_request() { awk -v t="$1" -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", t / hz / n * 1e6 }'; }
            cpu="$(per_request $((after - before)))"
            pg_cpu="$(per_request "$(pg_ticks_between "$pg_before" "$pg_after")")"
            RPS[$server:$query]+="$(wrk_field "$out" rps) "
            P99[$server:$query]+="$(wrk_field "$out" p99) "
            CPU[$server:$query]+="$cpu "
            PGCPU[$server:$query]+="$pg_cpu "
            errors="$(wrk_field "$out" errors)"
            echo "$round $server $query $(wrk_field "$out" rps) $(wrk_field "$out" p99) $cpu $pg_cpu $requests ${errors:-none}" |
                tee -a "$RESULTS_DIR/rounds.txt" >&2
        done
    done
    for query in products three; do
        for server in "${order[@]}"; do
            step "round $round/$ROUNDS: $server, $query, one client for $LATENCY_DURATION"
            out="$RESULTS_DIR/latency-$server-$query-$round.txt"
            run_wrk "$out" "$server" "$query" 1 1 "$LATENCY_DURATION"
            LAT[$server:$query]+="$(wrk_field "$out" p50) "
            echo "median latency: $(wrk_field "$out" p50) ms" >&2
        done
    done
done

# SQL statements per request. Koppel counts its own at /metrics. PostGraphile does not: there the count
# is the transactions of the bench database in pg_stat_database (each statement outside a transaction
# block is one), less those of an idle window of the same length.
xacts() { psql_bench -At -c "select xact_commit + xact_rollback from pg_stat_database where datname = current_database()"; }
koppel_statements() { curl -sSf "$KOPPEL_BASE/metrics" | awk '$1 == "koppel_db_statements_total" { print $2 }'; }
send_requests() { # send_requests SERVER QUERY N: N requests, one after the other, on one connection
    local args=(-sS -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' -w '%{http_code}\n')
    local token
    token="$(token_for "$2")"
    [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
    args+=(--data "$(jq -nc --arg q "$(server_query "$1" "$2")" '{query: $q}')")
    for _ in $(seq "$3"); do args+=(-o /dev/null "$(server_url "$1")"); done
    local codes
    codes="$(curl "${args[@]}" | sort | uniq -c | tr -s ' ')"
    [ "$codes" = " $3 200" ] || fail "$1 $2: not all answers were 200: $codes"
}
step "idle window: transactions in ${STATS_FLUSH_SECONDS}s with two /metrics scrapes and no requests"
sleep "$STATS_FLUSH_SECONDS" # until the servers' connections have reported the load runs
x0="$(xacts)"
koppel_statements >/dev/null
koppel_statements >/dev/null
sleep "$STATS_FLUSH_SECONDS"
IDLE_XACTS=$(($(xacts) - x0))
echo "idle: $IDLE_XACTS" >&2
declare -A XACT
for query in products three; do
    for server in koppel pg5; do
        step "$server, $query: statements over $COUNT_REQUESTS requests"
        x0="$(xacts)"
        s0="$(koppel_statements)"
        send_requests "$server" "$query" "$COUNT_REQUESTS"
        s1="$(koppel_statements)"
        sleep "$STATS_FLUSH_SECONDS"
        x1="$(xacts)"
        # The idle window had the same two /metrics scrapes (their statements are the scrape's own).
        XACT[$server:$query]="$(awk -v d=$((x1 - x0 - IDLE_XACTS)) -v n="$COUNT_REQUESTS" 'BEGIN { printf "%.2f", d / n }')"
        if [ "$server" = koppel ]; then
            STMT[$server:$query]="$(awk -v d=$((s1 - s0)) -v n="$COUNT_REQUESTS" 'BEGIN { printf "%.2f", d / n }')"
        else
            STMT[$server:$query]="${XACT[$server:$query]}"
        fi
        echo "statements per request: ${STMT[$server:$query]} (transactions per request: ${XACT[$server:$query]})" >&2
    done
done

# --- the table ------------------------------------------------------------------------------------

fmt() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.*f", d, v }'; }
{
    echo "Koppel $("$KOPPEL_BIN" --version | awk '{ print $2 }') (binary built $KOPPEL_BUILT$STALE; HEAD $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')) vs PostGraphile $(
        "$NODE" -p 'require("'"$HERE"'/node_modules/postgraphile/package.json").version'
    ) on Node $("$NODE" --version), PostgreSQL $(psql_bench -At -c 'show server_version' | awk '{ print $1 }'); \
$(nproc) cores; 2,000 products, 100 suppliers; wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after $WARMUP warm-up), $ROUNDS rounds"
    echo
    echo "| query (same rows from both, checked) | Koppel | PostGraphile 5 | Koppel / PG 5 |"
    echo "|---|---|---|---|"
    for query in "${QUERIES[@]}"; do
        k="$(median ${RPS[koppel:$query]})"
        p="$(median ${RPS[pg5:$query]})"
        echo "| ${LABEL[$query]}, median of $ROUNDS rounds (p99 latency) | $(fmt "$k" 0) ($(fmt "$(median ${P99[koppel:$query]})" 1) ms) | $(fmt "$p" 0) ($(fmt "$(median ${P99[pg5:$query]})" 1) ms) | $(ratio "$k" "$p") |"
    done
    kl1="$(median ${LAT[koppel:products]})"
    kl2="$(median ${LAT[koppel:three]})"
    pl1="$(median ${LAT[pg5:products]})"
    pl2="$(median ${LAT[pg5:three]})"
    echo "| one client, median latency, products / three levels | $(fmt "$kl1" 2) / $(fmt "$kl2" 2) ms | $(fmt "$pl1" 2) / $(fmt "$pl2" 2) ms | $(ratio "$kl1" "$pl1") / $(ratio "$kl2" "$pl2") |"
    echo "| SQL statements per request, products / three levels | ${STMT[koppel:products]} / ${STMT[koppel:three]} | ${STMT[pg5:products]} / ${STMT[pg5:three]} | $(ratio "${STMT[koppel:products]}" "${STMT[pg5:products]}") / $(ratio "${STMT[koppel:three]}" "${STMT[pg5:three]}") |"
    kc1="$(median ${CPU[koppel:products]})"
    kc2="$(median ${CPU[koppel:three]})"
    pc1="$(median ${CPU[pg5:products]})"
    pc2="$(median ${CPU[pg5:three]})"
    echo "| own CPU per request, products / three levels (under load) | $(fmt "$kc1" 0) / $(fmt "$kc2" 0) µs | $(fmt "$pc1" 0) / $(fmt "$pc2" 0) µs | $(ratio "$kc1" "$pc1") / $(ratio "$kc2" "$pc2") |"
    kg1="$(median ${PGCPU[koppel:products]})"
    kg2="$(median ${PGCPU[koppel:three]})"
    pg1="$(median ${PGCPU[pg5:products]})"
    pg2="$(median ${PGCPU[pg5:three]})"
    echo "| PostgreSQL's CPU per request (all its processes), products / three levels | $(fmt "$kg1" 0) / $(fmt "$kg2" 0) µs | $(fmt "$pg1" 0) / $(fmt "$pg2" 0) µs | $(ratio "$kg1" "$pg1") / $(ratio "$kg2" "$pg2") |"
    echo
    echo "Koppel's statements are its own count (\`koppel_db_statements_total\` at /metrics); PostGraphile's are the"
    echo "bench database's transactions in pg_stat_database over $COUNT_REQUESTS requests (for Koppel that count gives"
    echo "${XACT[koppel:products]} / ${XACT[koppel:three]}). Every round: rounds.txt in the results directory."
} >"$RESULTS_DIR/table.md"
echo
cat "$RESULTS_DIR/table.md"
echo
echo "(raw wrk output and the table: $RESULTS_DIR)"
