# Shared helpers of the benchmark scripts (sourced, not run). Everything listens on 127.0.0.1 only.
# A script calls `begin_run PREFIX TOOL...` first, `build_release PROJECT...`, starts its servers with
# `track $!`, and everything it tracked is stopped (and WORK removed unless OUT_DIR kept it) on exit.

log() { echo "$(basename "$0"): $*" >&2; }

# The runtime settings the server runs with (deploy/runtime.env), exported for every process a benchmark starts
# (our servers, the HTTP ceiling, the load tool), as the image and `dotnet run` apply them; a variable the caller's
# environment sets already wins (to measure without them: DOTNET_TieredPGO=0 DOTNET_TC_CallCountingDelayMs=100).
while IFS='=' read -r name value; do
    [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    [[ -n "${!name+x}" ]] || export "$name=$value"
done <"$(dirname "${BASH_SOURCE[0]}")/../deploy/runtime.env"

# work_dir PREFIX: sets WORK to $OUT_DIR (kept) or a new temp folder (removed by `stop`), and KEEP_WORK.
work_dir() {
    if [[ -n "${OUT_DIR:-}" ]]; then
        mkdir -p "$OUT_DIR"; WORK="$(cd "$OUT_DIR" && pwd)"; KEEP_WORK=1
    else
        WORK="$(mktemp -d -t "$1.XXXXXX")"; KEEP_WORK=0
    fi
}

# Fails when something already listens on the port, so we never measure a stale server.
port_free() {
    if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/"; then
        log "something already listens on 127.0.0.1:$1"; exit 2
    fi
}

# wait_ready URL PID LOG: health/ready 200 within 120 s, while the process lives.
wait_ready() {
    local url="$1" pid="$2" logfile="$3"
    for _ in $(seq 240); do
        kill -0 "$pid" 2>/dev/null || { log "server exited; log:"; cat "$logfile" >&2; exit 1; }
        if curl -fs -o /dev/null --max-time 2 "$url/v2/health/ready"; then return 0; fi
        sleep 0.5
    done
    log "$url not ready after 120 s; log:"; tail -50 "$logfile" >&2; exit 1
}

PIDS=()
track() { PIDS+=("$1"); }

stop() {
    kill_wait "${PIDS[@]}"
    PIDS=()
    if [[ "${KEEP_WORK:-0}" == 0 && -n "${WORK:-}" ]]; then rm -rf "$WORK"; fi
}

# begin_run PREFIX TOOL...: checks the tools, makes WORK, stops what was tracked on exit, notes the load.
begin_run() {
    local prefix="$1" tool
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { log "$tool not found"; exit 2; }
    done
    work_dir "$prefix"
    trap stop EXIT
    trap 'exit 130' INT TERM
    LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
}

# build_release PROJECT...: Release builds, unless SKIP_BUILD=1.
build_release() {
    [[ "${SKIP_BUILD:-0}" == 1 ]] && return 0
    local project
    for project in "$@"; do
        log "building $project (Release)"
        timeout 900 dotnet build "$project" -c Release -nologo -v quiet >>"$WORK/build.log" 2>&1 \
            || { cat "$WORK/build.log" >&2; exit 1; }
    done
}

# kill_wait PID...: TERM, up to 10 s to exit, then KILL.
kill_wait() {
    local pid
    for pid in "$@"; do [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        [[ -z "$pid" ]] && continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    done
}

seconds() { # 10s / 2m / 1h / 10 -> seconds
    local d="$1"
    case "$d" in
        *s) echo "${d%s}" ;; *m) echo $(( ${d%m} * 60 )) ;; *h) echo $(( ${d%h} * 3600 )) ;; *) echo "$d" ;;
    esac
}

ERRORS=()
# run_wrk OUT SCRIPT URL CONNECTIONS DURATION [WRK ARGS...]: wrk -t (1 for 1 connection, else 2) into
# OUT; socket errors and non-2xx responses are collected in ERRORS.
# A command run_wrk puts before wrk (for example: taskset -c 1); none by default.
WRK_PREFIX=()
run_wrk() {
    local out="$1" script="$2" url="$3" conns="$4" duration="$5" threads=2
    shift 5
    [[ "$conns" -lt 2 ]] && threads=1
    timeout $(( $(seconds "$duration") + 60 )) \
        "${WRK_PREFIX[@]}" wrk -t "$threads" -c "$conns" -d "$duration" --latency -s "$script" "$@" "$url" >"$out" 2>&1 \
        || { log "wrk failed ($out):"; cat "$out" >&2; exit 1; }
    note_errors "$out"
}

# note_errors OUT: a wrk output's socket errors and non-2xx responses, if any, added to ERRORS and logged.
note_errors() {
    local bad
    bad=$(grep -E 'Socket errors|Non-2xx' "$1" || true)
    if [[ -n "$bad" ]]; then
        ERRORS+=("$(basename "$1"): $(echo "$bad" | tr '\n' ';' | tr -s ' ')")
        log "$(basename "$1"):"; echo "$bad" >&2
    fi
}

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run_wrk_cpu PID OUT SCRIPT URL CONNECTIONS DURATION [WRK-ARGS...]: run_wrk, and PID's CPU time (user + system) over
# that run divided by the requests wrk counted, in µs a request, written to OUT.cpu.
run_wrk_cpu() {
    local pid="$1" before
    shift
    before="$(cpu_ticks "$pid")"
    run_wrk "$@"
    awk -v t=$(($(cpu_ticks "$pid") - before)) -v hz="$(getconf CLK_TCK)" -v n="$(awk '/requests in/ { print $1 }' "$1")" \
        'BEGIN { printf "%.1f", t * 1000000 / hz / n }' >"$1.cpu"
}

# mlp_repository DIR: a model repository in DIR serving ./models' mlp without the prediction cache (64 rows, 2
# instances), so that every request runs the model.
mlp_repository() {
    mkdir -p "$1/mlp/1"
    ln -sf "$ROOT/models/mlp/1/model.onnx" "$1/mlp/1/model.onnx"
    echo '{"max_batch_size": 64, "instances": 2}' >"$1/mlp/config.json"
}

# Latency as wrk prints it (123.45us, 1.23ms, 1.02s, 2.00m) -> milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        if (n < 1) printf "%.3f", n; else if (n < 100) printf "%.2f", n; else printf "%.0f", n }'
}
rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
pct() { awk -v p="$2%" '$1 == p { print $2 }' "$1"; }
# The p99 of a wrk output in milliseconds.
p99_ms() { to_ms "$(pct "$1" 99)"; }
# The median of the numbers on standard input, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# Three cells of a Markdown row from one wrk output: requests/s (whole), p50 and p99 in milliseconds.
wrk_cells() { echo "$(printf '%.0f' "$(rps "$1")") | $(to_ms "$(pct "$1" 50)") | $(to_ms "$(pct "$1" 99)")"; }

# The first lines of a report: when, on what machine, and its load average at begin_run and now.
report_header() {
    echo "Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "Machine: $(machine)"
    echo "Load average (1/5/15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) after the last run"
}

machine() {
    echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), .NET SDK $(dotnet --version), $(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }')"
}

report_errors() {
    if [[ ${#ERRORS[@]} -gt 0 ]]; then
        echo "Errors (socket errors or non-2xx responses):"
        printf '  %s\n' "${ERRORS[@]}"
        return 1
    fi
    echo "No socket errors or non-2xx responses."
}

# The HTTP ceiling of this machine for mlp infer (benchmarks/HttpCeiling): a minimal Kestrel app that reads
# the request body and answers the response recorded from the real server, byte for byte.
INFER_PATH="/v2/models/mlp/infer"
CEILING_DLL="$ROOT/benchmarks/HttpCeiling/bin/Release/net10.0/HttpCeiling.dll"
# start_http_ceiling GATEWAY_URL CEILING_URL: records mlp's JSON and binary responses (the same request
# bytes as benchmarks/http/mlp_json.lua and mlp_binary.lua) from the server at GATEWAY_URL, starts
# HttpCeiling at CEILING_URL (tracked) answering them, and checks that it answers the same bytes.
start_http_ceiling() {
    local gateway="$1" ceiling="$2" mode args
    {
        printf '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":['
        for i in $(seq 64); do printf '0.5'; [[ $i -lt 64 ]] && printf ','; done
        printf ']}]}'
    } >"$WORK/request.json"
    BINARY_HEADER='{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}],"outputs":[{"name":"output","parameters":{"binary_data":true}}]}'
    {
        printf '%s' "$BINARY_HEADER"
        for _ in $(seq 64); do printf '\x00\x00\x00\x3f'; done
    } >"$WORK/request.bin"

    record() { # record NAME CONTENT_TYPE BODY_FILE [extra curl args]
        local name="$1" type="$2" body="$3"; shift 3
        local status
        status=$(curl -sS --max-time 10 -X POST -H "Content-Type: $type" "$@" --data-binary "@$body" \
            -D "$WORK/$name.headers" -o "$WORK/$name.body" -w '%{http_code}' "$gateway$INFER_PATH")
        if [[ "$status" != 200 ]]; then
            log "recording the $name response: HTTP $status"; cat "$WORK/$name.body" >&2; echo >&2; exit 1
        fi
    }
    record json application/json "$WORK/request.json"
    record binary application/octet-stream "$WORK/request.bin" \
        -H "Inference-Header-Content-Length: ${#BINARY_HEADER}"
    log "recorded: JSON $(wc -c <"$WORK/json.body") B, binary $(wc -c <"$WORK/binary.body") B"

    log "starting HttpCeiling on $ceiling"
    dotnet "$CEILING_DLL" --urls "$ceiling" \
        --json-body "$WORK/json.body" --json-headers "$WORK/json.headers" \
        --binary-body "$WORK/binary.body" --binary-headers "$WORK/binary.headers" \
        >"$WORK/ceiling.log" 2>&1 &
    track $!
    wait_ready "$ceiling" "$!" "$WORK/ceiling.log"

    # The ceiling must answer what the server answers: status, headers and body, to the byte.
    for mode in json binary; do
        if [[ $mode == json ]]; then
            args=(-H "Content-Type: application/json" --data-binary "@$WORK/request.json")
        else
            args=(-H "Content-Type: application/octet-stream" -H "Inference-Header-Content-Length: ${#BINARY_HEADER}"
                --data-binary "@$WORK/request.bin")
        fi
        curl -fsS --max-time 10 -X POST "${args[@]}" -D "$WORK/check.$mode.headers" -o "$WORK/check.$mode.body" \
            "$ceiling$INFER_PATH"
        cmp -s "$WORK/check.$mode.body" "$WORK/$mode.body" \
            || { log "HttpCeiling's $mode response body differs from the recorded one"; exit 1; }
        # Same status line and headers, in any order, but for Date.
        if ! diff <(tr -d '\r' <"$WORK/$mode.headers" | grep -iv '^date:' | sort) \
                  <(tr -d '\r' <"$WORK/check.$mode.headers" | grep -iv '^date:' | sort) >&2; then
            log "HttpCeiling's $mode response headers differ from the recorded ones (< ServingGateway, > HttpCeiling)"
            exit 1
        fi
    done
}
