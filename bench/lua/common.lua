-- Shared by every scenario script (loaded with dofile at the top of each).
-- Owns: the auth header, a stable number per wrk thread, strict status
-- counting (every non-2xx is an error) and the machine-readable report that
-- bench.py parses from the line starting with "BENCH_RESULT ".
--
-- Configuration comes from the environment (bench.py sets it):
--   BENCH_API_KEY   workspace API key, sent as "Authorization: Bearer ..."
--   BENCH_TAG       integer 0-999, unique per wrk run on one database; used to
--                   make created keys, emails and phones unique across runs
--   BENCH_IDS_FILE  lines "<user_identity_id>\t<seed index>"
--   BENCH_CURSORS_FILE  lines of url-encoded page cursors (list limit=100)
--   BENCH_PATH      request path for the fixed-path scenarios

bench_tag = tonumber(os.getenv("BENCH_TAG") or "0") % 1000

local api_key = os.getenv("BENCH_API_KEY")
if api_key and api_key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. api_key
end

-- Headers for requests that carry a JSON body; GETs use wrk.headers as is.
json_headers = {}
for k, v in pairs(wrk.headers) do json_headers[k] = v end
json_headers["Content-Type"] = "application/json"

-- Reads a tab-separated file into an array of arrays of fields.
function read_lines(path)
  local rows = {}
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in f:lines() do
    if line ~= "" then
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
      rows[#rows + 1] = fields
    end
  end
  f:close()
  assert(#rows > 0, "no rows in " .. path)
  return rows
end

-- ---- main state: number the threads, gather their counters at the end ----
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
end

-- ---- thread state: strict status accounting ----
non2xx = 0
statuses = {}
error_sample = ""
counter = 0

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
    if error_sample == "" then
      error_sample = k .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

local function json_value(v)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    return string.format("%.17g", v)
  elseif t == "string" then
    return json_string(v)
  elseif t == "table" then
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = json_string(tostring(k)) .. ":" .. json_value(x) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif t == "boolean" then
    return tostring(v)
  end
  return "null"
end

function done(summary, latency, requests)
  local bad, by_status, sample = 0, {}, ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    for k, n in pairs(thread:get("statuses") or {}) do by_status[k] = (by_status[k] or 0) + n end
    local s = thread:get("error_sample") or ""
    if sample == "" then sample = s end
  end
  local e = summary.errors
  local report = {
    requests = summary.requests,
    duration_s = summary.duration / 1e6,
    bytes = summary.bytes,
    non2xx = bad,
    statuses = by_status,
    error_sample = sample,
    socket_errors = e.connect + e.read + e.write + e.timeout,
    timeouts = e.timeout,
    wrk_status_errors = e.status,
    latency_us = {
      mean = latency.mean,
      max = latency.max,
      p50 = latency:percentile(50),
      p90 = latency:percentile(90),
      p99 = latency:percentile(99),
      p999 = latency:percentile(99.9),
    },
  }
  io.write("BENCH_RESULT " .. json_value(report) .. "\n")
end
