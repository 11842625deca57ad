-- The e2e cluster: the product's 1+1 layout and static IPs on libvirt (worker_count and worker_memory
-- change it, as in the default cluster.lua), sized for software emulation (QEMU TCG), with hooks that do real
-- work on the nodes. The libvirt-static and lifecycle scenarios use it.
local k0s = require "k0s"
local nodes = require "k0slua.nodes"
local taints = require "k0slua.taints"
local e2e = require "e2e"
local hooks = e2e.hooks

local box = k0s.env.string("K0SLUA_E2E_BOX_NAME", "k0slua/debian12-test")

return {
  name = "e2e",
  provider = "libvirt",
  box = box,
  network = { cidr = "192.168.64.0/24", libvirt_network = "k0slua-e2e-net" },
  libvirt = { driver = "qemu", management_network_name = "k0slua-e2e-mgmt", management_network_mode = "none", boot_timeout = 1200 },
  nodes = nodes.concat(
    nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "192.168.64.10",
                  cpus = 1, memory = 1024, disk = 10, workloads = taints.first_third, hooks = hooks },
    nodes.class { prefix = "worker", role = "worker", count = k0s.env.integer("worker_count", 1, { min = 0, max = 3 }),
                  first_ip = "192.168.64.20",
                  cpus = 1, memory = k0s.env.integer("worker_memory", 1024, { min = 512, max = 2048 }), disk = 10, hooks = hooks }
  ),
}
