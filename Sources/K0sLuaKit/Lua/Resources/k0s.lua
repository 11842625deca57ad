-- The prelude run in every sandbox before cluster.lua (chunk name "=k0s"): it builds the host
-- module `k0s` (docs/cluster-lua.md, lib/k0s.lua for its annotated API), routes `print` to the log,
-- and installs a `require` that knows `k0s` and the text `.lua` files under the project's `lib/`.
local host = ...
local type, tostring, tonumber, error, select, pairs, ipairs = type, tostring, tonumber, error, select, pairs, ipairs
local setmetatable, rawget, rawset, load = setmetatable, rawget, rawset, load
local format, concat, tointeger = string.format, table.concat, math.tointeger

local k0s = {}

-- log ----------------------------------------------------------------------------------------
local function joined(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  return concat(parts, "\t")
end

k0s.log = {
  debug = function(...) host.log("debug", joined(...)) end,
  info = function(...) host.log("info", joined(...)) end,
  warn = function(...) host.log("warn", joined(...)) end,
}

print = function(...) host.log("info", joined(...)) end

-- env ----------------------------------------------------------------------------------------
local function read(name, level)
  if type(name) ~= "string" or name == "" then
    error("k0s.env: the variable name must be a non-empty string", level + 1)
  end
  local value = host.getenv(name)
  if value == nil or value:match("^%s*$") then return nil end
  return (value:match("^%s*(.-)%s*$"))
end

local function check_bounds(name, n, opts, level)
  if opts == nil then return n end
  if type(opts) ~= "table" then error("k0s.env.integer: options must be a table like { min = 1, max = 9 }", level + 1) end
  if opts.min ~= nil and n < opts.min then
    error(format("environment variable %s: %d is below the minimum %d", name, n, opts.min), level + 1)
  end
  if opts.max ~= nil and n > opts.max then
    error(format("environment variable %s: %d is above the maximum %d", name, n, opts.max), level + 1)
  end
  return n
end

local env = {}

function env.integer(name, default, opts)
  local raw = read(name, 2)
  if raw == nil then
    if default ~= nil and tointeger(default) == nil then
      error(format("k0s.env.integer(%q): the default must be an integer, got %s", name, tostring(default)), 2)
    end
    return default
  end
  local n = raw:match("^[+-]?%d+$") and tointeger(tonumber(raw))
  if not n then
    error(format("environment variable %s: expected an integer, got %q", name, host.getenv(name)), 2)
  end
  local checked = check_bounds(name, n, opts, 2) -- not a tail call: error levels count this frame
  return checked
end

function env.string(name, default)
  local raw = read(name, 2)
  if raw == nil then return default end
  return raw
end

local truthy = { ["true"] = true, yes = true, on = true, ["1"] = true }
local falsy = { ["false"] = true, no = true, off = true, ["0"] = true }

function env.boolean(name, default)
  local raw = read(name, 2)
  if raw == nil then return default end
  local lowered = raw:lower()
  if truthy[lowered] then return true end
  if falsy[lowered] then return false end
  error(format("environment variable %s: expected true or false (also yes/no, on/off, 1/0), got %q", name, host.getenv(name)), 2)
end

function env.one_of(name, default, choices)
  if type(choices) ~= "table" or #choices == 0 then
    error(format("k0s.env.one_of(%q): choices must be a non-empty list of strings", tostring(name)), 2)
  end
  local raw = read(name, 2)
  if raw == nil then return default end
  for _, choice in ipairs(choices) do
    if raw == choice then return raw end
  end
  local quoted = {}
  for i, choice in ipairs(choices) do quoted[i] = format("%q", choice) end
  error(format("environment variable %s: expected one of %s, got %q", name, concat(quoted, ", "), host.getenv(name)), 2)
end

k0s.env = env

-- ipv4 ---------------------------------------------------------------------------------------
local function parse_ip(text, level, what)
  if type(text) ~= "string" then
    error(format("%s: expected an IPv4 address string, got %s", what, type(text)), level + 1)
  end
  local a, b, c, d = text:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  local octets = { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
  if not a then error(format("%s: %q is not an IPv4 address", what, text), level + 1) end
  local n = 0
  for _, o in ipairs(octets) do
    if o > 255 then error(format("%s: %q is not an IPv4 address", what, text), level + 1) end
    n = n * 256 + o
  end
  return n
end

local function ip_string(n)
  return format("%d.%d.%d.%d", (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end

local function parse_cidr(text, level, what)
  if type(text) ~= "string" then
    error(format("%s: expected a CIDR string such as \"192.168.64.0/24\", got %s", what, type(text)), level + 1)
  end
  local ip, prefix = text:match("^([^/]+)/(%d+)$")
  prefix = tonumber(prefix)
  if not ip or prefix > 32 then error(format("%s: %q is not a CIDR such as \"192.168.64.0/24\"", what, text), level + 1) end
  local n = parse_ip(ip, level + 1, what)
  local mask = prefix == 0 and 0 or ((0xffffffff << (32 - prefix)) & 0xffffffff)
  return n & mask, prefix, mask
end

local ipv4 = {}

function ipv4.add(ip, offset)
  local n = parse_ip(ip, 2, "k0s.ipv4.add")
  if tointeger(offset) == nil then error("k0s.ipv4.add: the offset must be an integer", 2) end
  local result = n + offset
  if result < 0 or result > 0xffffffff then
    error(format("k0s.ipv4.add: %s %+d leaves the IPv4 address space", ip, offset), 2)
  end
  return ip_string(result)
end

function ipv4.contains(cidr, ip)
  local network, _, mask = parse_cidr(cidr, 2, "k0s.ipv4.contains")
  return (parse_ip(ip, 2, "k0s.ipv4.contains") & mask) == network
end

function ipv4.network(cidr)
  local network, prefix, mask = parse_cidr(cidr, 2, "k0s.ipv4.network")
  local broadcast = network | (~mask & 0xffffffff)
  return {
    network = ip_string(network),
    prefix = prefix,
    netmask = ip_string(mask),
    broadcast = ip_string(broadcast),
    first_host = ip_string(prefix >= 31 and network or network + 1),
    last_host = ip_string(prefix >= 31 and broadcast or broadcast - 1),
    size = broadcast - network + 1,
  }
end

function ipv4.host(cidr, index)
  local network, _, mask = parse_cidr(cidr, 2, "k0s.ipv4.host")
  if tointeger(index) == nil then error("k0s.ipv4.host: the index must be an integer", 2) end
  local n = network + index
  if (n & mask) ~= network then error(format("k0s.ipv4.host: index %d is outside %s", index, cidr), 2) end
  return ip_string(n)
end

k0s.ipv4 = ipv4

-- host facts (read-only) ---------------------------------------------------------------------
local function read_only(t, name)
  return setmetatable({}, {
    __index = function(_, key)
      local value = t[key]
      if value == nil then error(format("%s has no field %q", name, tostring(key)), 2) end
      return value
    end,
    __newindex = function() error(name .. " is read-only", 2) end,
    __pairs = function() return next, t, nil end,
    __metatable = false,
  })
end

k0s.host = read_only(host.facts, "k0s.host")
k0s.version = "0.1.0"

-- require ------------------------------------------------------------------------------------
local loaded = { k0s = read_only(k0s, "k0s") }
local loading = {}

require = function(name)
  if type(name) ~= "string" then error("require: expected a module name string", 2) end
  local cached = loaded[name]
  if cached ~= nil then return cached end
  if loading[name] then error(format("require: module %q requires itself (a cycle)", name), 2) end
  local source, chunkname = host.read_module(name)
  if source == nil then error(chunkname, 2) end
  local chunk, message = load(source, chunkname, "t")
  if not chunk then error(message, 0) end
  loading[name] = true
  local value = chunk(name)
  loading[name] = nil
  if value == nil then value = true end
  loaded[name] = value
  return value
end
