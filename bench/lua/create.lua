-- POST /user_identities/create with a body unique per request: key, email and
-- phone carry (run tag, thread number, per-thread counter), so no two requests
-- of any thread or run on one database collide. Phone numbers are E.164:
-- "+17" + tag (3 digits) + thread (2) + counter (8) = 15 digits; seeded phones
-- are "+1555" + 7 digits, so they never meet. Names avoid the "cNNx" search terms.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function request()
  counter = counter + 1
  local t = tid or 0
  local body = string.format(
    '{"user_identity_key":"load-%03d-%02d-%d","email_address":"load%03dt%02dn%d@bench.example",' ..
    '"phone_number":"+17%03d%02d%08d","full_name":"Load Person %03d-%02d-%d"}',
    bench_tag, t, counter, bench_tag, t, counter, bench_tag, t, counter, bench_tag, t, counter)
  return wrk.format("POST", "/user_identities/create", json_headers, body)
end
