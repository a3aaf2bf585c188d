-- PATCH /user_identities/update of a random seeded identity's full_name. The
-- new name keeps the seeded "c<i mod 100>x" term so search results keep their size.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids
function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0))
  ids = read_lines(os.getenv("BENCH_IDS_FILE"))
end

function request()
  counter = counter + 1
  local row = ids[math.random(#ids)]
  local i = tonumber(row[2]) or 0
  local body = string.format(
    '{"user_identity_id":"%s","full_name":"Bench Person %d c%02dx u%03d-%02d-%d"}',
    row[1], i, i % 100, bench_tag, tid or 0, counter)
  return wrk.format("PATCH", "/user_identities/update", json_headers, body)
end
