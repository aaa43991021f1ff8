#!/usr/bin/env bash
# The read-path queries of run.sh against Koppel on SQLite, the embedded default (PostGraphile has no
# SQLite, so this is Koppel alone). The same shape of data, made through the GraphQL API: 100 suppliers
# and 2,000 products with 2–3 tariffs each, 90 % of them variants of a configurable one.
#
#   bash bench/read-path/sqlite.sh            # ROUNDS=3 DURATION=10s CONNECTIONS=64 as run.sh
#
# Needs wrk, curl and jq (run.sh installs them); builds target/release/koppel only when missing.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-3s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-64}"
LATENCY_DURATION="${LATENCY_DURATION:-5s}"
KOPPEL_BIN="${KOPPEL_BIN:-$ROOT/target/release/koppel}"

step() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
for tool in wrk curl jq; do command -v "$tool" >/dev/null || fail "$tool is missing (bash bench/read-path/run.sh installs it)"; done
[ -x "$KOPPEL_BIN" ] || (cd "$ROOT" && cargo build --release --bin koppel)

work="$(mktemp -d)"
koppel_pid=""
cleanup() { [ -n "$koppel_pid" ] && kill "$koppel_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

export KOPPEL_DATA_DIR="$work/data" KOPPEL_BIND=127.0.0.1:0 KOPPEL_RATE_LIMIT_PER_ADDRESS=1000000 \
    KOPPEL_RATE_LIMIT_PER_TOKEN=1000000 KOPPEL_LOG_FORMAT=json KOPPEL_GRAPHIQL=false
unset KOPPEL_DATABASE_URL
step "koppel serve --no-daemon on SQLite under $KOPPEL_DATA_DIR"
"$KOPPEL_BIN" serve --no-daemon </dev/null >"$work/out" 2>"$work/log" &
koppel_pid=$!
URL=""
for _ in $(seq 300); do
    URL="$(sed -n 's/^Koppel is listening on \(http:[^ ]*\)$/\1/p' "$work/out")"
    [ -n "$URL" ] && curl -sf "${URL%/graphql}/readyz" >/dev/null && break
    kill -0 "$koppel_pid" 2>/dev/null || { cat "$work/log" >&2; fail "koppel serve exited"; }
    sleep 0.2
done
[ -n "$URL" ] || fail "koppel serve did not say where it listens"
PASSWORD="bench-$(head -c 12 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
KOPPEL_ADMIN_PASSWORD="$PASSWORD" "$KOPPEL_BIN" account create --name bench --admin admin </dev/null >/dev/null 2>>"$work/log"

gql() { # gql TOKEN QUERY [VARIABLES]
    local args=(-sS --fail-with-body -X POST -H 'Content-Type: application/json')
    [ -n "$1" ] && args+=(-H "Authorization: Bearer $1")
    curl "${args[@]}" --data "$(jq -nc --arg q "$2" --argjson v "${3:-{\}}" '{query: $q, variables: $v}')" "$URL"
}
TOKEN="$(gql "" 'mutation($p: String!) { login(input: {account: "bench", username: "admin", password: $p}) { session { token } } }' \
    "$(jq -nc --arg p "$PASSWORD" '{p: $p}')" | jq -r .data.login.session.token)"
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || fail "login failed"

step "seeding 100 suppliers and 2,000 products through the API (50 mutations per request)"
# mutate_many FIELD RESULT INPUTS_JSON: runs one aliased mutation per input, 50 per request; prints the ids.
mutate_many() {
    local field=$1 result=$2 inputs=$3 n
    n="$(jq length <<<"$inputs")"
    for ((start = 0; start < n; start += 50)); do
        local chunk doc
        chunk="$(jq -c ".[$start:$((start + 50))]" <<<"$inputs")"
        doc="$(jq -r --arg f "$field" --arg r "$result" \
            '"mutation(" + ([range(length)] | map("$i\(.): \($f[0:1] | ascii_upcase)\($f[1:])Input!") | join(", ")) + ") { "
             + ([range(length)] | map("m\(.): \($f)(input: $i\(.)) { \($r) { id } userErrors { field message } }") | join(" ")) + " }"' <<<"$chunk")"
        gql "$TOKEN" "$doc" "$(jq -c '[to_entries[] | {key: "i\(.key)", value: .value}] | from_entries' <<<"$chunk")" |
            jq -e -r --arg r "$result" 'if .errors then error(.errors | tostring) else .data | to_entries | sort_by(.key[1:] | tonumber)[]
                | if .value.userErrors != [] then error(.value.userErrors | tostring) else .value[$r].id end end'
    done
}
suppliers="$(mutate_many createSupplier supplier "$(jq -nc '[range(1; 101) | {supplier: {name: "Supplier \(. | tostring | ("00" + .)[-3:])"}}]')" | jq -Rsc 'split("\n")[:-1]')"
tariffs='[{"code": "normal", "label": "Normaaltarief", "amount": "0.23451", "unit": "EUR/kWh"}, {"code": "fixed", "label": "Vaste leveringskosten", "amount": "6.95", "unit": "EUR/month"}]'
# Every tenth product is configurable, the nine after it its variants (as in seed.sql, 90 % have a parent,
# and the first page holds both): made without parents, then given them.
products="$(mutate_many createProduct product "$(jq -nc --argjson s "$suppliers" --argjson t "$tariffs" \
    '[range(1; 2001) | {product: {sku: "SKU-\(.)", name: "Product \(.)", supplierId: $s[(. - 1) % 100],
      productType: (if . % 10 == 1 then "CONFIGURABLE" else "VARIANT" end),
      tariffs: ($t + (if . % 2 == 0 then [{code: "low", label: "Daltarief", amount: "0.21", unit: "EUR/kWh"}] else [] end))}}]')" |
    jq -Rsc 'split("\n")[:-1]')"
mutate_many updateProduct product "$(jq -nc --argjson p "$products" \
    '[range(0; 2000) | select(. % 10 != 0) | {id: $p[.], product: {parentId: $p[. - (. % 10)]}}]')" >/dev/null

QUERIES=(products three floor typename)
declare -A Q=(
    [products]='query { products(first: 20) { nodes { name sku supplier { name } } } }'
    [three]='query { products(first: 20) { nodes { name parent { name supplier { name } } } } }'
    [floor]='query { me { username } }'
    [typename]='{ __typename }'
)
declare -A WITH_TOKEN=([products]=1 [three]=1 [floor]=1 [typename]=0)
[ "$(gql "$TOKEN" "${Q[three]}" | jq '[.data.products.nodes[] | select(.parent.supplier.name != null)] | length')" -gt 0 ] ||
    fail "the three-level query found no parents"

run_wrk() { # OUT QUERY THREADS CONNECTIONS DURATION
    BENCH_BODY="$(jq -nc --arg q "${Q[$2]}" '{query: $q}')" BENCH_TOKEN="$([ "${WITH_TOKEN[$2]}" = 1 ] && echo "$TOKEN" || true)" \
        wrk -t"$3" -c"$4" -d"$5" --latency -s "$HERE/post.lua" "$URL" >"$1" 2>&1
    ! grep -q 'Non-2xx' "$1" || { cat "$1" >&2; fail "non-2xx answers to $2"; }
}
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/) n *= 1000; printf "%.2f", n }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
statements() { curl -s "${URL%/graphql}/metrics" | awk '/^koppel_db_statements_total/ { print $2 }'; }

declare -A RPS P99 LAT
for round in $(seq "$ROUNDS"); do
    for query in "${QUERIES[@]}"; do
        step "round $round/$ROUNDS: $query"
        run_wrk "$work/warmup" "$query" "$THREADS" "$CONNECTIONS" "$WARMUP"
        run_wrk "$work/load" "$query" "$THREADS" "$CONNECTIONS" "$DURATION"
        RPS[$query]+="$(awk '/^Requests\/sec:/ { print $2 }' "$work/load") "
        P99[$query]+="$(ms "$(awk '$1 == "99%" { print $2 }' "$work/load")") "
    done
    for query in products three; do
        run_wrk "$work/latency" "$query" 1 1 "$LATENCY_DURATION"
        LAT[$query]+="$(ms "$(awk '$1 == "50%" { print $2 }' "$work/latency")") "
    done
done
declare -A STMT
for query in products three; do
    before="$(statements)"
    for _ in $(seq 100); do gql "$TOKEN" "${Q[$query]}" >/dev/null; done
    STMT[$query]="$(awk -v a="$before" -v b="$(statements)" 'BEGIN { printf "%.2f", (b - a) / 100 }')"
done

printf '\nKoppel %s on SQLite (WAL, embedded); %s cores; 2,000 products, 100 suppliers; wrk -t%s -c%s -d%s, %s rounds\n\n' \
    "$("$KOPPEL_BIN" --version | awk '{ print $2 }')" "$(nproc)" "$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS"
echo "| query | req/s, median | p99, median |"
echo "|---|---|---|"
for query in "${QUERIES[@]}"; do
    # shellcheck disable=SC2086
    echo "| \`${Q[$query]}\` | $(median ${RPS[$query]}) | $(median ${P99[$query]}) ms |"
done
# shellcheck disable=SC2086
echo "| one client, median latency, products / three levels | $(median ${LAT[products]}) / $(median ${LAT[three]}) ms | |"
echo "| SQL statements per request, products / three levels | ${STMT[products]} / ${STMT[three]} | |"
