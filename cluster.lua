-- The default k0slua cluster: 1 controller + 1 worker, resized with environment variables:
--   control_plane_count=3 worker_count=2 k0slua plan
-- Every key is documented in docs/cluster-lua.md.
local k0s = require "k0s"
local nodes = require "k0slua.nodes"
local taints = require "k0slua.taints"

local env = k0s.env
local control_plane_count = env.integer("control_plane_count", 1, { min = 1, max = 99 })
local worker_count = env.integer("worker_count", 1, { min = 0, max = 200 })
local disk_size = env.integer("disk_size", 32, { min = 1 })
local provider = env.one_of("vagrant_provider", "tart", { "tart", "libvirt", "hosts" })

-- On Tart (softnet, the default network mode) a VM may send only from the address DHCP gives it,
-- so nodes take that address at boot; libvirt and existing hosts use the static layout.
local function addresses(first_static)
  return provider == "tart" and "dhcp" or first_static
end

local controllers = nodes.class {
  prefix = "control-plane",
  role = "controller",
  count = control_plane_count,
  first_ip = addresses("192.168.64.10"),
  cpus = env.integer("cpu_control", 2, { min = 1 }),
  memory = env.integer("memory_control", 2048, { min = 1 }),
  disk = disk_size,
  -- Fewer than 3 controllers: all run workloads. 3 or more: the first third (at least one) do.
  workloads = taints.first_third,
}

local workers = nodes.class {
  prefix = "worker",
  role = "worker",
  count = worker_count,
  first_ip = addresses("192.168.64.20"),
  cpus = env.integer("cpu_worker", 2, { min = 1 }),
  memory = env.integer("memory_worker", 4096, { min = 1 }),
  disk = disk_size,
}

---@type k0slua.Cluster
local cluster = {
  name = env.string("cluster_name", "k0slua"),
  provider = provider,
  network = { cidr = "192.168.64.0/24", gateway = "192.168.64.1" },
  k0s = { version = env.string("k0s_version", nil) },
  nodes = nodes.concat(controllers, workers),
}

return cluster
