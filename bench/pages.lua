-- wrk script for bench/bench_pages.py: GET the paths given after "--" in turn, print one JSON line at the end.
-- Usage: wrk -t1 -c2 -d10s -s bench/pages.lua -H "Cookie: ..." http://127.0.0.1:PORT -- /path1 /path2 ...
local paths = {}
local next_index = 1

function init(args)
  for i = 1, #args do
    paths[#paths + 1] = args[i]
  end
  if #paths == 0 then
    paths[1] = "/"
  end
end

-- Rotate through the paths so repeated requests spread over several customers and queries.
function request()
  local path = paths[next_index]
  next_index = next_index % #paths + 1
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  -- Latencies are microseconds; report milliseconds with one decimal.
  local function ms(us)
    return string.format("%.1f", us / 1000)
  end
  io.write(string.format(
    '{"requests": %d, "seconds": %.2f, "rps": %.1f, "p50_ms": %s, "p95_ms": %s, "p99_ms": %s, "max_ms": %s, '
      .. '"mean_ms": %s, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, seconds, summary.requests / seconds,
    ms(latency:percentile(50)), ms(latency:percentile(95)), ms(latency:percentile(99)), ms(latency.max),
    ms(latency.mean), e.connect, e.read, e.write, e.status, e.timeout
  ))
end
