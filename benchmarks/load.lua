-- wrk script of the HTTP benchmark (benchmarks/load.py): one request per line of a file.
--
--   wrk ... -s benchmarks/load.lua URL -- <file> <threads> <cycle|once|probe> <status> <pattern> [auth]
--
-- Each line is "<METHOD> <path>" or "<METHOD> <path> <json body>". Thread i of
-- n takes lines i, i+n, i+2n... "cycle" starts over at the end of a thread's
-- lines; "once" sends each line once and then only GET /healthz/live, counted as
-- "exhausted" (the run is void). A response is "success" when its status is
-- <status> and its body matches the Lua pattern <pattern> (for example
-- '"status":%s*"SUCCESS"'; an empty pattern matches any body). [auth], when not
-- empty, is sent as the Authorization header of every request.
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
local expected_status = 200
local pattern = ""
local spare = nil
success, other, exhausted = 0, 0, 0

function init(args)
  local file, count = args[1], tonumber(args[2])
  mode = args[3] or "cycle"
  expected_status = tonumber(args[4] or "200")
  pattern = args[5] or ""
  local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
  if args[6] and args[6] ~= "" then
    headers["Authorization"] = args[6]
  end
  local n = 0
  for line in io.lines(file) do
    if n % count == id then
      local method, path, body = line:match("^(%u+) (%S+) ?(.*)$")
      if body == "" then
        body = nil
      end
      table.insert(prepared, wrk.format(method, path, headers, body))
    end
    n = n + 1
  end
  if mode == "cycle" and #prepared == 0 then
    -- Fewer lines than threads: a thread without lines of its own repeats them all.
    for line in io.lines(file) do
      local method, path, body = line:match("^(%u+) (%S+) ?(.*)$")
      if body == "" then
        body = nil
      end
      table.insert(prepared, wrk.format(method, path, headers, body))
    end
  end
  spare = wrk.format("GET", "/healthz/live")
end

function request()
  index = index + 1
  if index > #prepared then
    if mode == "cycle" and #prepared > 0 then
      index = 1
    else
      exhausted = exhausted + 1
      if mode == "probe" then
        -- A warm-up that measures: stop here, so that the latencies are the lines'.
        wrk.thread:stop()
      end
      return spare
    end
  end
  return prepared[index]
end

function response(status, headers, body)
  if status == expected_status and body:find(pattern) then
    success = success + 1
  else
    other = other + 1
    -- BENCH_DEBUG: the first unexpected answers, before any spare request.
    if other <= 2 and exhausted == 0 and os.getenv("BENCH_DEBUG") then
      io.stderr:write("unexpected " .. status .. " " .. body .. "\n")
    end
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
    'BENCH-RESULT {"requests": %d, "duration_us": %d, "mean_us": %d, "p50_us": %d, '
      .. '"p90_us": %d, "p99_us": %d, "max_us": %d, "success": %d, "other": %d, '
      .. '"exhausted": %d, "socket_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, math.floor(latency.mean), latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, s, o, e,
    errors.connect + errors.read + errors.write, errors.timeout
  ))
end
