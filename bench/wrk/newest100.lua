-- wrk script: the newest 100 points of a random demo symbol per request, over keep-alive.
--   wrk -t2 -c32 -d10s -s bench/wrk/newest100.lua http://127.0.0.1:8080
-- Symbols are those of `tickring-server --demo` (8 by default).
local symbols = {"EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "BTCUSD", "ETHUSD", "AAPL", "MSFT"}
math.randomseed(os.time())
request = function()
  local s = symbols[math.random(#symbols)]
  return wrk.format("GET", "/v1/series/quotes/" .. s .. "?order=desc&limit=100")
end
