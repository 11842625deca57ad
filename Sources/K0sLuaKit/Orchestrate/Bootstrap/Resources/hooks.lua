-- The hook host module (chunk "=hooks"), loaded once per hook stage: it runs every hook as a
-- coroutine, so the hooks of a stage wait for their programs side by side (docs/bootstrap.md).
-- ctx.run, ctx.run_on and ctx.kubectl yield a request, which k0slua performs and answers by
-- resuming the hook; where the hook cannot yield (inside a sort comparison, a gsub replacement or
-- a metamethod called from C) they ask the host to perform it and wait. cluster.lua has no
-- coroutine library, and only a yield with the private token below is a request.
local co, traceback = ...
local create, resume, running, status, yield, isyieldable = co.create, co.resume, co.running, co.status, co.yield, co.isyieldable
local type, select, error, pairs, ipairs, xpcall = type, select, error, pairs, ipairs, xpcall
local pack, unpack = table.pack, table.unpack

local token = {}
local threads = {} -- hook id → its coroutine
local hosts = {} -- coroutine → the host ctx its hook was started with

-- kind: "run", "run_on" or "kubectl"; host: the host ctx whose `perform` runs a request and waits.
-- Only the hook the ctx was made for yields its requests (the answer goes to the hook that yields,
-- on that hook's node); a ctx kept and called from another hook, or from a later stage, waits.
local function deferred(kind, host)
  local perform = host.perform
  return function(...)
    local arguments = pack(...)
    -- ctx:run(command) passes the context first.
    if arguments.n > 1 and type(arguments[1]) == "table" then arguments = pack(select(2, ...)) end
    local reply
    if isyieldable() and hosts[running()] == host then reply = yield(token, kind, arguments) else reply = perform(kind, arguments) end
    if reply.error ~= nil then error(reply.error, 2) end
    return reply.value
  end
end

-- The ctx a hook sees: the host's values and ctx.log, with the deferred functions it names.
local function context(host)
  local ctx = {}
  for key, value in pairs(host) do
    if key ~= "perform" and key ~= "deferred" then ctx[key] = value end
  end
  for _, kind in ipairs(host.deferred) do ctx[kind] = deferred(kind, host) end
  return ctx
end

-- The hook's state after a resume: "request", kind, arguments; "done"; or "failed", message
-- (with the traceback of the hook's own stack).
local function settle(id, ok, first, kind, arguments)
  local thread = threads[id]
  if status(thread) == "dead" then
    threads[id], hosts[thread] = nil, nil
    if not ok then return "failed", first end -- raised outside the hook's own xpcall
    if first then return "done" end
    return "failed", kind
  end
  if first ~= token then
    threads[id], hosts[thread] = nil, nil
    return "failed", "a hook yielded without ctx.run, ctx.run_on or ctx.kubectl"
  end
  return "request", kind, arguments
end

-- step(id, nil, hook, arguments…, host ctx) starts hook `id`; step(id, reply) resumes it with
-- k0slua's answer to its request.
return function(id, reply, hook, ...)
  if hook ~= nil then
    local arguments = pack(...)
    local host = arguments[arguments.n]
    arguments[arguments.n] = context(host)
    local thread = create(function() return xpcall(hook, traceback, unpack(arguments, 1, arguments.n)) end)
    threads[id], hosts[thread] = thread, host
    return settle(id, resume(thread))
  end
  return settle(id, resume(threads[id], reply))
end
