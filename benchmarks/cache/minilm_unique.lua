-- wrk script: POST minilm requests at sequence 32 (binary extension) that are all different: the
-- second and third word pieces count up, so every request misses the cache (up to 900 000 requests).
-- Usage: wrk -t1 -c1 -d15s --latency -s benchmarks/cache/minilm_unique.lua http://127.0.0.1:PORT/v2/models/minilm/infer
local seq = 32
local n = 0
local function int64(v)
    return string.char(v % 256, math.floor(v / 256) % 256, 0, 0, 0, 0, 0, 0)
end

local size = seq * 8
local function input(name)
    return '{"name":"' .. name .. '","shape":[1,' .. seq .. '],"datatype":"INT64","parameters":{"binary_data_size":' .. size .. '}}'
end
local header = '{"inputs":[' .. input("input_ids") .. ',' .. input("attention_mask") .. ',' .. input("token_type_ids")
    .. '],"parameters":{"binary_data_output":true}}'
local mask, types = string.rep(int64(1), seq), string.rep(int64(0), seq)

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = tostring(#header)

request = function()
    n = n + 1
    local ids = {}
    for i = 1, seq do
        local id = 2000 + i
        if i == 1 then id = 101 elseif i == seq then id = 102
        elseif i == 2 then id = 1000 + (n % 900) elseif i == 3 then id = 1000 + math.floor(n / 900) % 1000 end
        ids[i] = int64(id)
    end
    return wrk.format(nil, nil, nil, header .. table.concat(ids) .. mask .. types)
end
