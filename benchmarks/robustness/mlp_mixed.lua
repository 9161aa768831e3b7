-- wrk script: POST mlp JSON requests (input "input" FP32 [1,64]) of which REPEAT_PERCENT (environment,
-- default 0) are byte-identical repeats drawn from a hot set of HOT_BODIES (default 100) bodies, and the
-- rest are all different: values 0..2 of a distinct request carry its thread and sequence number (each
-- exactly representable in FP32, so distinct bodies are distinct tensors too), the other 61 are 0.5.
-- Usage: REPEAT_PERCENT=90 wrk -t2 -c64 -d10s --latency -s benchmarks/robustness/mlp_mixed.lua URL
local repeat_percent = tonumber(os.getenv("REPEAT_PERCENT") or "0")
local hot_bodies = tonumber(os.getenv("HOT_BODIES") or "100")
local rest = string.rep(",0.5", 61)
local prefix = '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":['
local threads = 0

local function body(a, b, c)
    return prefix .. a .. "," .. b .. "," .. c .. rest .. "]}]}"
end

function setup(thread)
    threads = threads + 1
    thread:set("thread_id", threads)
end

local n = 0
local hot = {}

function init(args)
    math.randomseed(thread_id * 7919)
    for i = 1, hot_bodies do
        -- thread 0 does not exist: hot bodies never collide with distinct ones, and every thread shares them
        hot[i] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body(i % 4096, math.floor(i / 4096), -1))
    end
end

function request()
    if repeat_percent > 0 and math.random(100) <= repeat_percent then
        return hot[math.random(hot_bodies)]
    end

    n = n + 1
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body(n % 4096, math.floor(n / 4096) % 4096, thread_id))
end
