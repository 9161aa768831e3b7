-- wrk script: POST mlp requests that are all different, in the same order on every run: request n has
-- input values n, n+1, ..., n+63. Run it on one node and the predictions go to Redis; run it again on
-- another node and each request is an L2 hit (the first time that node sees it).
-- Usage: wrk -t1 -c1 -d10s --latency -s benchmarks/cache/mlp_sequence.lua http://127.0.0.1:PORT/v2/models/mlp/infer
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
    n = n + 1
    local values = {}
    for i = 0, 63 do values[i + 1] = tostring(n + i) end
    local body = '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[' .. table.concat(values, ",") .. ']}]}'
    return wrk.format(nil, nil, nil, body)
end
