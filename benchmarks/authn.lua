-- wrk script for benchmarks/http_authn.py: one JSON POST per line of a file.
--
--   wrk ... -s benchmarks/authn.lua URL -- <file> <threads> <cycle|once>
--
-- Each line is "<path> <json body>". Thread i of n takes lines i, i+n, i+2n...
-- "cycle" starts over at the end of a thread's lines; "once" sends each line
-- once and then only GET /healthz, counted as "exhausted" (the run is void).
-- A response is "success" when it is a 200 whose body has "status":"SUCCESS".
-- done() prints one line "BENCH-RESULT {json}" for the benchmark to parse.

local threads = {}
local started = 0

function setup(thread)
  thread:set("id", started)
  started = started + 1
  table.insert(threads, thread)
end

local prepared = {}
local index = 0
local mode = "cycle"
local spare = nil
success, other, exhausted = 0, 0, 0

function init(args)
  local file, count = args[1], tonumber(args[2])
  mode = args[3] or "cycle"
  local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
  local n = 0
  for line in io.lines(file) do
    if n % count == id then
      local path, body = line:match("^(%S+) (.*)$")
      table.insert(prepared, wrk.format("POST", path, headers, body))
    end
    n = n + 1
  end
  spare = wrk.format("GET", "/healthz")
end

function request()
  index = index + 1
  if index > #prepared then
    if mode == "cycle" and #prepared > 0 then
      index = 1
    else
      exhausted = exhausted + 1
      return spare
    end
  end
  return prepared[index]
end

function response(status, headers, body)
  if status == 200 and body:find('"status":%s*"SUCCESS"') then
    success = success + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local s, o, e = 0, 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("success")
    o = o + thread:get("other")
    e = e + thread:get("exhausted")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "success": %d, "other": %d, "exhausted": %d, '
      .. '"socket_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, s, o, e,
    errors.connect + errors.read + errors.write, errors.timeout
  ))
end
