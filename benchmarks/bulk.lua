-- wrk script for the Bunce bulk route (benchmarks/run.py passes the arguments).
--
--   wrk ... -s benchmarks/bulk.lua URL -- BODY_FILE MODE RUN_ID
--
-- MODE "stateless": every request sends `Prefer: code=200` and the same key (the mock answers
-- from the spec without touching state). MODE "stateful": every request sends a new key
-- `X-Authorization: sk_test_<RUN_ID>_<thread>_<n>`, i.e. a fresh account, so every customer of
-- the body is created. done() prints one JSON line (prefixed "WRKJSON ") with the counts and the
-- latency percentiles in microseconds.

local threads = {}
local counter = 0
local body, mode, run_id

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

function request()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Authorization"] = "sk_test_" .. run_id .. "_" .. tostring(tid) .. "_" .. counter,
  }
  return wrk.format("POST", nil, headers, body)
end

function init(args)
  body = read_file(args[1])
  mode = args[2] or "stateless"
  run_id = args[3] or "0"
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  if mode == "stateless" then
    wrk.headers["Prefer"] = "code=200"
    wrk.headers["X-Authorization"] = "sk_test_bench"
    request = nil -- a static request: wrk formats it once
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
