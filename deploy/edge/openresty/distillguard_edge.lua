-- distillguard edge decisions for OpenResty (contract: edge decisions v1).
-- One GET per request: <prefix>decision:<account_id> -> JSON {action, until, rpm, ...}.
--   block    -> 403 (or opts.block_status) with Retry-After = ceil(until - now)
--   throttle -> at most `rpm` requests per wall-clock minute (INCR + EXPIRE, pipelined),
--               else 429 with Retry-After = to the end of the minute (or to `until`)
--   no key, or `until` passed -> the request passes.
-- Redis errors and unreadable values fail open (opts.fail_open = false: 503).
-- Note: `until` is a Lua keyword: read it as d["until"], never d.until.
local redis = require "resty.redis"
local cjson = require "cjson.safe"

local M = {}

local DEFAULTS = {
  host = "127.0.0.1", port = 6379, password = nil, ssl = false, database = 0,
  prefix = "distillguard:", header = "x-account-id", block_status = 403,
  fail_open = true, timeout_ms = 50, pool_size = 100, idle_ms = 60000,
}

local function deny(status, retry_after, err, limit)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.header["Retry-After"] = tostring(retry_after)
  if limit then ngx.header["X-RateLimit-Limit"] = tostring(limit) end
  ngx.say(cjson.encode({ error = err, retry_after = retry_after }))
  return ngx.exit(ngx.HTTP_OK) -- the status is set and sent: end the request here
end

local function failed(o, what, err)
  ngx.log(ngx.WARN, "distillguard: ", what, ": ", err)
  if not o.fail_open then return deny(503, 1, "decision_unavailable") end
end

local function connect(o)
  local red = redis:new()
  red:set_timeouts(o.timeout_ms, o.timeout_ms, o.timeout_ms)
  local ok, err = red:connect(o.host, o.port, { ssl = o.ssl, pool_size = o.pool_size })
  if not ok then return nil, err end
  if red:get_reused_times() == 0 then -- a new connection: authenticate and select once
    if o.password and o.password ~= "" then
      ok, err = red:auth(o.password)
      if not ok then return nil, err end
    end
    if o.database ~= 0 then
      ok, err = red:select(o.database)
      if not ok then return nil, err end
    end
  end
  return red
end

-- Call from access_by_lua_block: require("distillguard_edge").enforce({host = "redis"})
function M.enforce(opts)
  local o = setmetatable(opts or {}, { __index = DEFAULTS })
  local account = ngx.req.get_headers()[o.header]
  if type(account) == "table" then account = account[1] end
  if not account or account == "" then return end

  local red, err = connect(o)
  if not red then return failed(o, "connect", err) end
  local raw
  raw, err = red:get(o.prefix .. "decision:" .. account)
  if err then return failed(o, "GET", err) end
  if raw == ngx.null then
    red:set_keepalive(o.idle_ms, o.pool_size)
    return -- clean account: one round trip
  end

  local d = cjson.decode(raw)
  local now = ngx.now()
  if type(d) ~= "table" or type(d["until"]) ~= "number" then
    red:set_keepalive(o.idle_ms, o.pool_size)
    return failed(o, "decision", "unreadable value")
  end
  if d["until"] <= now then
    red:set_keepalive(o.idle_ms, o.pool_size)
    return -- lapsed: the key's TTL removes it at `until`
  end

  if d.action == "block" then
    red:set_keepalive(o.idle_ms, o.pool_size)
    return deny(o.block_status, math.max(1, math.ceil(d["until"] - now)), "account_blocked")
  end

  if d.action == "throttle" and type(d.rpm) == "number" then
    local window = math.floor(now / 60)
    local key = o.prefix .. "edge-rpm:" .. account .. ":" .. window
    red:init_pipeline(2)
    red:incr(key)
    red:expire(key, 120)
    local res
    res, err = red:commit_pipeline()
    if not res then return failed(o, "INCR", err) end
    red:set_keepalive(o.idle_ms, o.pool_size)
    local count = tonumber(res[1])
    if count and count > d.rpm then
      local retry = math.ceil(math.min((window + 1) * 60, d["until"]) - now)
      return deny(429, math.max(1, retry), "rate_limited", d.rpm)
    end
    return
  end

  red:set_keepalive(o.idle_ms, o.pool_size)
  return failed(o, "decision", "unknown action")
end

return M
