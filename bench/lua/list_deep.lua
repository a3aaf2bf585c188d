-- GET /user_identities/list?limit=100 at a random depth, using page cursors
-- collected while walking the seeded workspace: page N must cost what page 1 costs.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local cursors
function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
  cursors = read_lines(os.getenv("BENCH_CURSORS_FILE"))
end

function request()
  local cursor = cursors[math.random(#cursors)][1]
  return wrk.format("GET", "/user_identities/list?limit=100&page_cursor=" .. cursor)
end
