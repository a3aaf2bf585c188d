-- GET /user_identities/get for a random seeded id.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids
function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
  ids = read_lines(os.getenv("BENCH_IDS_FILE"))
end

function request()
  local id = ids[math.random(#ids)][1]
  return wrk.format("GET", "/user_identities/get?user_identity_id=" .. id)
end
