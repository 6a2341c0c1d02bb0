-- Kong plugin "distillguard": enforce distillguard's edge decisions (contract v1).
-- One GET per request of <prefix>decision:<account_id>; block -> 403/429 with
-- Retry-After from `until`; throttle -> `rpm` per wall-clock minute via INCR + EXPIRE.
-- Note: `until` is a Lua keyword: read it as d["until"].
local redis = require "resty.redis"
local cjson = require "cjson.safe"

local DistillguardHandler = {
  PRIORITY = 905, -- after the auth plugins, before rate-limiting (910 runs first: fine)
  VERSION = "1.0.0",
}

local POOL, IDLE_MS = 100, 60000

local function account_id(conf)
  if conf.account_source == "consumer" then
    local consumer = kong.client.get_consumer()
    return consumer and consumer.custom_id
  end
  return kong.request.get_header(conf.header_name)
end

local function failed(conf, what, err)
  kong.log.warn("distillguard: ", what, ": ", err)
  if not conf.fail_open then
    return kong.response.exit(503, { error = "decision_unavailable", retry_after = 1 },
                              { ["Retry-After"] = "1" })
  end
end

local function deny(status, retry_after, err, limit)
  local headers = { ["Retry-After"] = tostring(retry_after), ["Cache-Control"] = "no-store" }
  if limit then headers["X-RateLimit-Limit"] = tostring(limit) end
  return kong.response.exit(status, { error = err, retry_after = retry_after }, headers)
end

local function connect(conf)
  local red = redis:new()
  red:set_timeouts(conf.timeout_ms, conf.timeout_ms, conf.timeout_ms)
  local ok, err = red:connect(conf.redis_host, conf.redis_port,
                              { ssl = conf.redis_ssl, pool_size = POOL })
  if not ok then return nil, err end
  if red:get_reused_times() == 0 then
    if conf.redis_password and conf.redis_password ~= "" then
      ok, err = red:auth(conf.redis_password)
      if not ok then return nil, err end
    end
    if conf.redis_database ~= 0 then
      ok, err = red:select(conf.redis_database)
      if not ok then return nil, err end
    end
  end
  return red
end

function DistillguardHandler:access(conf)
  local account = account_id(conf)
  if not account or account == "" then return end

  local red, err = connect(conf)
  if not red then return failed(conf, "connect", err) end
  local raw
  raw, err = red:get(conf.prefix .. "decision:" .. account)
  if err then return failed(conf, "GET", err) end
  if raw == ngx.null then
    red:set_keepalive(IDLE_MS, POOL)
    return
  end

  local d = cjson.decode(raw)
  local now = ngx.now()
  if type(d) ~= "table" or type(d["until"]) ~= "number" then
    red:set_keepalive(IDLE_MS, POOL)
    return failed(conf, "decision", "unreadable value")
  end
  if d["until"] <= now then
    red:set_keepalive(IDLE_MS, POOL)
    return
  end

  if d.action == "block" then
    red:set_keepalive(IDLE_MS, POOL)
    return deny(conf.block_status, math.max(1, math.ceil(d["until"] - now)), "account_blocked")
  end

  if d.action == "throttle" and type(d.rpm) == "number" then
    local window = math.floor(now / 60)
    local key = conf.prefix .. "edge-rpm:" .. account .. ":" .. window
    red:init_pipeline(2)
    red:incr(key)
    red:expire(key, 120)
    local res
    res, err = red:commit_pipeline()
    if not res then return failed(conf, "INCR", err) end
    red:set_keepalive(IDLE_MS, POOL)
    local count = tonumber(res[1])
    if count and count > d.rpm then
      local retry = math.ceil(math.min((window + 1) * 60, d["until"]) - now)
      return deny(429, math.max(1, retry), "rate_limited", d.rpm)
    end
    return
  end

  red:set_keepalive(IDLE_MS, POOL)
  return failed(conf, "decision", "unknown action")
end

return DistillguardHandler
