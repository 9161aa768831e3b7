# Server variants of the robustness A/B scripts (ab.sh, first-seconds.sh; sourced after benchmarks/lib.sh, not run),
# and the load both apply: issue 11's, mlp JSON with every body different (mlp_mixed.lua), CONNECTIONS (64)
# connections, runs of ROUND (10 s).
ROUND="${ROUND:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
export REPEAT_PERCENT=0
GATEWAY_DLL="$ROOT/src/Gateway/bin/Release/net10.0/ServingGateway.dll"
MIXED="$ROOT/benchmarks/robustness/mlp_mixed.lua"

# The variants:
# default (models/mlp/config.json as committed: cache on, admission auto); cache-off (the same with "cache":
# {"enable": false}); admission-always (cache on, admission always); bloom-small
# (--Cache:SecondHitExpectedKeys=10000); gen0-64mb (DOTNET_GCgen0size=0x4000000); tiered-off
# (DOTNET_TieredCompilation=0). Every variant runs with deploy/runtime.env's runtime settings (benchmarks/lib.sh
# exports them: Dynamic PGO on, call counting from the first call) but these: pgo-off (DOTNET_TieredPGO=0);
# tc-default (DOTNET_TC_CallCountingDelayMs=100: the runtime's own delay, hot methods tier up only once the JIT has
# gone quiet for 100 ms); bare (neither variable: the runtimeconfig alone, as a bare `dotnet ServingGateway.dll`
# runs, Dynamic PGO off and the 100 ms delay).

# variant NAME: sets CACHE_JSON (the "cache" of config.json), ENV_ARGS (for env) and SERVER_ARGS.
variant() {
    CACHE_JSON='{"enable": true, "ttl_seconds": 300}'; ENV_ARGS=(); SERVER_ARGS=()
    case "$1" in
        default) ;;
        cache-off) CACHE_JSON='{"enable": false}' ;;
        admission-always) CACHE_JSON='{"enable": true, "ttl_seconds": 300, "admission": "always"}' ;;
        bloom-small) SERVER_ARGS=(--Cache:SecondHitExpectedKeys=10000) ;;
        gen0-64mb) ENV_ARGS=(DOTNET_GCgen0size=0x4000000) ;;
        tiered-off) ENV_ARGS=(DOTNET_TieredCompilation=0) ;;
        pgo-off) ENV_ARGS=(DOTNET_TieredPGO=0) ;;
        tc-default) ENV_ARGS=(DOTNET_TC_CallCountingDelayMs=100) ;;
        bare) ENV_ARGS=(-u DOTNET_TieredPGO -u DOTNET_TC_CallCountingDelayMs) ;;
        *) log "unknown variant $1"; exit 2 ;;
    esac
}

# variant_models DIR: a model repository in DIR with mlp and the variant's cache (call variant first).
variant_models() {
    mkdir -p "$1/mlp/1"
    ln -sf "$ROOT/models/mlp/1/model.onnx" "$1/mlp/1/model.onnx"
    printf '%s\n  "cache": %s\n}\n' "$(sed -e '/"cache"/,$d' "$ROOT/models/mlp/config.json")" "$CACHE_JSON" >"$1/mlp/config.json"
}
