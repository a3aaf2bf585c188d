-- A fixed GET path (BENCH_PATH): the ceiling route and list limit=100.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.method = "GET"
wrk.path = assert(os.getenv("BENCH_PATH"), "BENCH_PATH is required")
