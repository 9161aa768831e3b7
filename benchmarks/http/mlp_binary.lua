-- wrk script: POST /v2/models/mlp/infer with the OIP binary tensor data extension: a JSON header
-- announcing 256 bytes for input "input" FP32 [1,64] and asking for "output" as binary, then
-- 64 little-endian float32 0.5 values (0x3F000000). Inference-Header-Content-Length is the JSON length.
-- Usage: wrk -t1 -c1 -d10s --latency -s benchmarks/http/mlp_binary.lua http://127.0.0.1:18000/v2/models/mlp/infer
-- run.sh sends the same bytes with curl to record the response (keep the two in step).
local header = '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}],'
    .. '"outputs":[{"name":"output","parameters":{"binary_data":true}}]}'
local tensor = string.rep(string.char(0x00, 0x00, 0x00, 0x3F), 64)

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = tostring(#header)
wrk.body = header .. tensor
