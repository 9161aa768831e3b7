-- wrk script: POST mlp JSON requests (input "input" FP32 [1,64]) of which REPEAT_PERCENT (environment,
-- default 0) are byte-identical repeats drawn from a hot set of HOT_BODIES (default 100) bodies, and the
-- rest are all different: values 0..3 of a distinct request carry its sequence number, thread and the
-- run's salt (each exactly representable in FP32, so distinct bodies are distinct tensors too), the other
-- 60 are 0.5. The salt (RUN_SALT, default 24 random bits from /dev/urandom) makes every run's distinct
-- bodies distinct from every other run's: without it each wrk run re-sent the previous runs' bodies, so
-- "every body different" was in fact a repeat of the last round (seen on the second sighting, stored,
-- hit from the third: docs/PERFORMANCE.md). RUN_SALT=0 in two runs reproduces that.
-- Usage: REPEAT_PERCENT=90 wrk -t2 -c64 -d10s --latency -s benchmarks/robustness/mlp_mixed.lua URL
local repeat_percent = tonumber(os.getenv("REPEAT_PERCENT") or "0")
local hot_bodies = tonumber(os.getenv("HOT_BODIES") or "100")
local rest = string.rep(",0.5", 60)
local prefix = '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":['
local threads = 0

local function body(a, b, c, d)
    return prefix .. a .. "," .. b .. "," .. c .. "," .. d .. rest .. "]}]}"
end

local function run_salt()
    local given = os.getenv("RUN_SALT")
    if given and given ~= "" then
        return tonumber(given)
    end

    local random = io.open("/dev/urandom", "rb")
    if random then
        local b1, b2, b3 = random:read(3):byte(1, 3)
        random:close()
        return (b1 * 65536) + (b2 * 256) + b3
    end

    return os.time() % 16777216
end

local salt = run_salt()

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
        hot[i] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body(i % 4096, math.floor(i / 4096), -1, -1))
    end
end

function request()
    if repeat_percent > 0 and math.random(100) <= repeat_percent then
        return hot[math.random(hot_bodies)]
    end

    n = n + 1
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body(n % 4096, math.floor(n / 4096) % 4096, thread_id, salt))
end
