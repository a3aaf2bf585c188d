-- GET /user_identities/list?limit=100&search=cNNx with NN random in 00..99.
-- Seeded full names end in "c<i mod 100>x", so each term matches 1% of seeded rows.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
  local term = string.format("c%02dx", math.random(0, 99))
  return wrk.format("GET", "/user_identities/list?limit=100&search=" .. term)
end
