-- Kong plugin "distillguard": configuration schema (Kong 3.x).
local typedefs = require "kong.db.schema.typedefs"

return {
  name = "distillguard",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { redis_host = { type = "string", required = true, default = "redis" } },
          { redis_port = typedefs.port { required = true, default = 6379 } },
          -- A vault reference ({vault://...}) keeps the password out of Kong's database.
          { redis_password = { type = "string", required = false, referenceable = true } },
          { redis_ssl = { type = "boolean", required = true, default = false } },
          { redis_database = { type = "integer", required = true, default = 0 } },
          { prefix = { type = "string", required = true, default = "distillguard:" } },
          -- "header": the account id is in `header_name`; "consumer": the authenticated
          -- Kong consumer's custom_id (the auth plugins run before this one).
          { account_source = { type = "string", required = true, default = "header",
                               one_of = { "header", "consumer" } } },
          { header_name = { type = "string", required = true, default = "x-account-id" } },
          { block_status = { type = "integer", required = true, default = 403,
                             one_of = { 403, 429 } } },
          { fail_open = { type = "boolean", required = true, default = true } },
          { timeout_ms = { type = "integer", required = true, default = 50, gt = 0 } },
        },
    } },
  },
}
