-- 10,000 nodes for the plan benchmark (ten times cluster-1000.lua): 9 controllers and 9,991 workers in a /16, with labels and taints
-- on every worker, built with the same helpers as the default cluster.lua.
local k0s = require "k0s"
local nodes = require "k0slua.nodes"
local taints = require "k0slua.taints"

local controllers = nodes.class {
  prefix = "control-plane", role = "controller", count = 9,
  first_ip = "10.20.0.10", cpus = 2, memory = 2048, disk = 32,
  workloads = taints.first_third,
}
local pools = {}
for pool = 1, 9991 // 100 + 1 do
  local count = math.min(100, 9991 - (pool - 1) * 100)
  pools[#pools + 1] = nodes.class {
    prefix = "pool" .. pool .. "-worker", role = "worker", count = count,
    first_ip = k0s.ipv4.host("10.20.0.0/16", pool * 256 + 10), cpus = 2, memory = 4096, disk = 32,
    labels = { pool = "pool" .. pool, tier = pool % 2 == 0 and "even" or "odd" },
    taints = { "pool=pool" .. pool .. ":PreferNoSchedule" },
  }
end

return {
  name = "bench",
  provider = "hosts",
  network = { cidr = "10.20.0.0/16", gateway = "10.20.0.1" },
  ssh = { user = "root" },
  nodes = nodes.concat(controllers, table.unpack(pools)),
}
