-- wrk script: POSTs the JSON request in BODY_FILE, paced to RATE requests/s in total, for
-- compare-with-wrk.sh. Request k is due at start + k/RATE; delay() (called before every request)
-- returns the time to the next free slot. wrk takes whole milliseconds, so a request leaves up
-- to 1 ms early, never late; over a run the rate is RATE as long as the connections keep up.
-- wrk measures latency from the actual send, like the tool's service time.
-- Usage: wrk -t1 -c16 -d20s --latency -s loadtests/wrk-paced.lua URL -- RATE BODY_FILE
-- One thread (-t1): the slots are counted per thread.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } lt_timespec;
int clock_gettime(int clock_id, lt_timespec *tp);
]]
local clock = ffi.new("lt_timespec")

local function now_ms()
    ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
    return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local interval_ms, start_ms
local sent = 0

function init(args)
    interval_ms = 1000 / tonumber(args[1])
    local file = assert(io.open(args[2], "rb"))
    wrk.body = file:read("*a")
    file:close()
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
end

function delay()
    start_ms = start_ms or now_ms()
    local due = start_ms + sent * interval_ms
    sent = sent + 1
    local wait = due - now_ms()
    if wait < 0 then return 0 end
    return wait
end
