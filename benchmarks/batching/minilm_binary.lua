-- wrk script: POST an all-MiniLM-L6-v2 request at sequence length 32 with the OIP binary tensor data
-- extension: input_ids ([CLS] 30 word pieces [SEP]), attention_mask (ones) and token_type_ids (zeros),
-- INT64 [1,32] each, every output returned as binary data.
-- Usage: wrk -t2 -c16 -d10s --latency -s benchmarks/batching/minilm_binary.lua http://127.0.0.1:18100/v2/models/minilm/infer
local seq = 32
local function int64(v)
    return string.char(v % 256, math.floor(v / 256) % 256, 0, 0, 0, 0, 0, 0)
end

local ids, mask, types = {}, {}, {}
for i = 1, seq do
    local id = 2000 + i
    if i == 1 then id = 101 elseif i == seq then id = 102 end
    ids[i], mask[i], types[i] = int64(id), int64(1), int64(0)
end

local size = seq * 8
local function input(name)
    return '{"name":"' .. name .. '","shape":[1,' .. seq .. '],"datatype":"INT64","parameters":{"binary_data_size":' .. size .. '}}'
end
local header = '{"inputs":[' .. input("input_ids") .. ',' .. input("attention_mask") .. ',' .. input("token_type_ids")
    .. '],"parameters":{"binary_data_output":true}}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = tostring(#header)
wrk.body = header .. table.concat(ids) .. table.concat(mask) .. table.concat(types)
