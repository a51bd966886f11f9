-- Like wrk-report.lua, and every request carries one of N sticky keys in turn (x-user-id: bench-user-1..N;
-- N is the script's first argument, 1,000 by default), so that what is decided per user (the rollout's
-- split, the shadow sample) sees a population instead of one user. The requests are formatted once, at start.
local here = debug.getinfo(1, 'S').source:match('^@(.*/)') or './'
dofile(here .. 'wrk-report.lua')

local requests = {}
local n = 0

init = function(args)
  local users = tonumber(args[1]) or 1000
  for i = 1, users do
    requests[i] = wrk.format(nil, nil, { ['x-user-id'] = 'bench-user-' .. i })
  end
end

request = function()
  n = n % #requests + 1
  return requests[n]
end
