-- wrk script: POST /v2/models/<model>/infer (the URL's path) with JSON requests, input "input" FP32 [1,64], values
-- drawn from N(0, 1): 32 bodies made once, sent in turn, so the drift sketches bin varied values.
-- Usage: wrk -t2 -c8 -d10s --latency -s benchmarks/drift/mlp_random.lua http://127.0.0.1:18010/v2/models/mlp/infer
math.randomseed(20261130)
local bodies = {}
for b = 1, 32 do
    local values = {}
    for i = 1, 64 do
        local u1, u2 = 1 - math.random(), math.random()
        values[i] = string.format("%.4f", math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2))
    end
    bodies[b] = '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[' .. table.concat(values, ",") .. ']}]}'
end

local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
    n = n + 1
    return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])
end
