-- A custom topology: 3 controllers (one running workloads), a GPU-ish worker class with labels and
-- taints, on libvirt with a pinned k0s and a VIP, and no k0slua load balancer.
local k0s = require "k0s"
local nodes = require "k0slua.nodes"
local taints = require "k0slua.taints"

local cidr = "10.77.0.0/24"

local controllers = nodes.class {
  prefix = "ctl", role = "controller", count = 3,
  first_ip = k0s.ipv4.host(cidr, 10), cpus = 2, memory = 2048, disk = 20,
  workloads = taints.first_third,
}
local general = nodes.class {
  prefix = "general", role = "worker", count = 2,
  first_ip = k0s.ipv4.host(cidr, 20), cpus = 4, memory = 8192, disk = 40,
  labels = { tier = "general" },
}
local gpu = nodes.class {
  prefix = "gpu", role = "worker", count = 1,
  first_ip = k0s.ipv4.host(cidr, 30), cpus = 8, memory = 16384, disk = 100,
  labels = { tier = "gpu", ["example.com/accelerator"] = "fake" },
  taints = { "dedicated=gpu:NoSchedule" },
}

return {
  name = "lab",
  provider = "libvirt",
  box = "generic/ubuntu2204",
  network = { cidr = cidr },
  k0s = { version = "v1.33.4+k0s.0", vip = k0s.ipv4.host(cidr, 100) },
  load_balancer = "off",  -- MetalLB of its own
  nodes = nodes.concat(controllers, general, gpu),
}
