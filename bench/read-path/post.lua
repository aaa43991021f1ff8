-- wrk script: POST one GraphQL request, again and again.
-- BENCH_BODY: the JSON body; BENCH_TOKEN: a bearer token, or empty for none.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token ~= nil and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
