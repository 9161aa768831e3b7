-- wrk script: POST /v2/models/mlp/infer with a JSON request, input "input" FP32 [1,64], every value 0.5.
-- Usage: wrk -t1 -c1 -d10s --latency -s benchmarks/http/mlp_json.lua http://127.0.0.1:18000/v2/models/mlp/infer
-- run.sh sends the same bytes with curl to record the response (keep the two in step).
local values = {}
for i = 1, 64 do
    values[i] = "0.5"
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":['
    .. table.concat(values, ",") .. ']}]}'
