-- The drill host module (chunk "=drill"), run once before a drill file: it defines the global
-- `drill` (docs/drills.md, lib/drill.lua for its annotated API) and returns the function k0slua
-- calls to run the drill step by step. The drill file runs as a coroutine; every drill.* call that
-- needs k0slua (a fault, an observation, a pause) yields a request table, which k0slua performs
-- and answers by resuming the coroutine. Drill files have no `coroutine` library of their own, and
-- a request counts only with the private token below, so nothing else can make k0slua act.
local host, co, body = ...
local type, tostring, error, ipairs, pairs, select = type, tostring, error, ipairs, pairs, select
local format, concat, tointeger, floor = string.format, table.concat, math.tointeger, math.floor
local create, resume, running, status, yield = co.create, co.resume, co.running, co.status, co.yield

local token = {}
local thread = create(body)
local quiet = 0 -- > 0 while a drill.wait predicate runs: its steps go to the log, not the timeline

local nodes, by_name, names = {}, {}, {}
for i, node in ipairs(host.nodes) do
  local copy = {}
  for key, value in pairs(node) do copy[key] = value end
  nodes[i] = copy
  by_name[node.name] = node
  names[i] = format("%q", node.name)
end

-- level: the caller's level as error() counts it from the function that called these helpers.
local function request(kind, args, level)
  if running() ~= thread then
    error(format("drill.%s: call it from the drill itself", kind), level + 1)
  end
  args.kind = kind
  args.quiet = quiet > 0
  local reply = yield(token, args)
  if type(reply) ~= "table" then error("drill: k0slua answered nothing", level + 1) end
  if reply.error ~= nil then error(reply.error, level + 1) end
  return reply.value, reply.detail
end

local function node_name(value, what, level)
  if type(value) ~= "string" then
    error(format("%s: expected a node name (string), got %s", what, type(value)), level + 1)
  end
  if by_name[value] == nil then
    error(format("%s: no node named %q in the applied cluster (nodes: %s)", what, value, concat(names, ", ")), level + 1)
  end
  return value
end

local function node_list(value, what, level)
  if type(value) ~= "table" or #value == 0 then
    error(format("%s: expected a non-empty list of node names, got %s", what, type(value)), level + 1)
  end
  local list = {}
  for i = 1, #value do list[i] = node_name(value[i], what, level + 1) end
  return list
end

local units = { ms = 0.001, s = 1, m = 60, h = 3600 }

local function seconds(value, what, level)
  if type(value) == "number" and value >= 0 then return value end
  if type(value) == "string" then
    local number, unit = value:match("^(%d+%.?%d*)(%a*)$")
    local factor = units[unit == "" and "s" or unit]
    if number and factor then return tonumber(number) * factor end
  end
  error(format("%s: expected a duration such as \"90s\", \"2m\" or a number of seconds, got %s", what,
    type(value) == "string" and format("%q", value) or tostring(value)), level + 1)
end

local function boolean_free(value) return value ~= nil and value ~= false end

local drill = {}

drill.nodes = nodes
drill.cluster = {}
for key, value in pairs(host.cluster) do drill.cluster[key] = value end

-- faults -------------------------------------------------------------------------------------

function drill.stop(node)
  node_name(node, "drill.stop", 2)
  if host.cluster.provider == "hosts" then
    error("drill.stop: the hosts provider cannot power machines off (they are yours); use drill.kill_k0s to stop k0s instead", 2)
  end
  request("stop", { node = node }, 2)
end

function drill.start(node)
  node_name(node, "drill.start", 2)
  if host.cluster.provider == "hosts" then
    error("drill.start: the hosts provider cannot power machines on (they are yours)", 2)
  end
  request("start", { node = node }, 2)
end

function drill.kill_k0s(node)
  node_name(node, "drill.kill_k0s", 2)
  request("kill_k0s", { node = node }, 2)
end

function drill.partition(a, b)
  local left = node_list(a, "drill.partition", 2)
  local right = node_list(b, "drill.partition", 2)
  local seen = {}
  for _, name in ipairs(left) do seen[name] = true end
  for _, name in ipairs(right) do
    if seen[name] then error(format("drill.partition: node %q is in both groups", name), 2) end
  end
  for _, list in ipairs({ left, right }) do
    for _, name in ipairs(list) do
      if by_name[name].ip == nil then error(format("drill.partition: node %q has no known address", name), 2) end
    end
  end
  request("partition", { a = left, b = right }, 2)
end

function drill.delay(node, ms)
  node_name(node, "drill.delay", 2)
  if tointeger(ms) == nil or ms < 1 or ms > 60000 then
    error(format("drill.delay: expected milliseconds as an integer from 1 to 60000, got %s", tostring(ms)), 2)
  end
  if by_name[node].ip == nil then error(format("drill.delay: node %q has no known address", node), 2) end
  request("delay", { node = node, ms = tointeger(ms) }, 2)
end

function drill.fill_disk(node, percent)
  node_name(node, "drill.fill_disk", 2)
  if tointeger(percent) == nil or percent < 1 or percent > 99 then
    error(format("drill.fill_disk: expected a percentage as an integer from 1 to 99, got %s", tostring(percent)), 2)
  end
  request("fill_disk", { node = node, percent = tointeger(percent) }, 2)
end

function drill.undo()
  request("undo", {}, 2)
end

-- observations -------------------------------------------------------------------------------

function drill.health(options)
  options = options or {}
  if type(options) ~= "table" then error("drill.health: expected a table like { checks = { \"api\" } }", 2) end
  local checks = options.checks
  if checks ~= nil then
    if type(checks) ~= "table" then error("drill.health: checks must be a list of check names", 2) end
    for i = 1, #checks do
      if type(checks[i]) ~= "string" then error("drill.health: checks must be a list of check names", 2) end
    end
  end
  local report = request("health", { checks = checks }, 2)
  return report
end

function drill.kubectl(words)
  if type(words) ~= "table" or #words == 0 then
    error("drill.kubectl: expected a list of arguments like { \"get\", \"nodes\" }", 2)
  end
  local list = {}
  for i = 1, #words do
    if type(words[i]) ~= "string" then error(format("drill.kubectl: argument %d must be a string", i), 2) end
    list[i] = words[i]
  end
  local value, problem = request("kubectl", { words = list }, 2)
  return value, problem
end

function drill.ssh(node, command)
  node_name(node, "drill.ssh", 2)
  if type(command) ~= "string" or command == "" then error("drill.ssh: expected a command string", 2) end
  local result = request("ssh", { node = node, command = command }, 2)
  return result.code, result.stdout, result.stderr
end

function drill.sleep(duration)
  request("sleep", { seconds = seconds(duration, "drill.sleep", 2) }, 2)
end

function drill.wait(predicate, options)
  if type(predicate) ~= "function" then error("drill.wait: expected a function that returns true once the condition holds", 2) end
  options = options or {}
  if type(options) ~= "table" then error("drill.wait: options must be a table like { timeout = \"2m\", every = \"5s\" }", 2) end
  local timeout = seconds(options.timeout or "1m", "drill.wait: timeout", 2)
  local every = seconds(options.every or "5s", "drill.wait: every", 2)
  if every <= 0 then error("drill.wait: every must be more than 0", 2) end
  local label = options.label
  if label ~= nil and type(label) ~= "string" then error("drill.wait: label must be a string", 2) end
  local started = request("wait", { phase = "begin", label = label, timeout = timeout }, 2)
  local tries = 0
  while true do
    tries = tries + 1
    quiet = quiet + 1
    local ok, value = pcall(predicate)
    quiet = quiet - 1
    if not ok then error(value, 0) end
    if boolean_free(value) then
      request("wait", { phase = "end", met = true, tries = tries, label = label }, 2)
      return value
    end
    local now = request("clock", {}, 2)
    if now - started >= timeout then
      request("wait", { phase = "end", met = false, tries = tries, label = label }, 2)
      return nil -- not reached: k0slua ends the drill as failed
    end
    quiet = quiet + 1
    request("sleep", { seconds = math.min(every, timeout - (now - started)) }, 2)
    quiet = quiet - 1
  end
end

-- assertions and notes -----------------------------------------------------------------------

function drill.expect(condition, message)
  if message ~= nil and type(message) ~= "string" then error("drill.expect: the message must be a string", 2) end
  request("expect", { ok = boolean_free(condition), message = message or "expectation" }, 2)
end

function drill.note(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  request("note", { text = concat(parts, " ") }, 2)
end

function drill.skip(reason)
  if type(reason) ~= "string" or reason == "" then error("drill.skip: expected the reason as a string", 2) end
  request("skip", { reason = reason }, 2)
end

function drill.fail(message)
  if type(message) ~= "string" or message == "" then error("drill.fail: expected a message string", 2) end
  request("fail", { message = message }, 2)
end

-- `drill` is a global of the drill file (declared here, in a main chunk).
_ENV.drill = setmetatable({}, {
  __index = drill,
  __newindex = function() error("drill is read-only", 2) end,
  __metatable = false,
})

-- Resumes the drill with k0slua's answer; returns the next request, or { kind = "done" }.
return function(reply)
  local results = table.pack(resume(thread, reply))
  if not results[1] then error(results[2], 0) end
  if status(thread) == "dead" then return { kind = "done" } end
  if results[2] ~= token then return { kind = "forged" } end
  return results[3]
end
