-- wrk script: the newest 100 points of a random series per request, over keep-alive.
--   wrk -t2 -c32 -d10s -s bench/wrk/newest100.lua http://127.0.0.1:8080
--   wrk -t1 -c1 -d5s --latency -s bench/wrk/newest100.lua http://127.0.0.1:8080 -- quotes/SYM0000
-- Without arguments the series are those of `tickring-server --demo` (8 by default); after
-- `--`, the series to ask for (measurement/symbol, one or more), as `tickring bench query
-- --series` takes them: the same workload for both tools.
local series = {"quotes/EURUSD", "quotes/GBPUSD", "quotes/USDJPY", "quotes/AUDUSD",
                "quotes/BTCUSD", "quotes/ETHUSD", "quotes/AAPL", "quotes/MSFT"}
function init(args)
  if #args > 0 then series = args end
end
math.randomseed(os.time())
request = function()
  local s = series[math.random(#series)]
  return wrk.format("GET", "/v1/series/" .. s .. "?order=desc&limit=100")
end
