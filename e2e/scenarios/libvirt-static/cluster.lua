-- The e2e cluster: the product's 1+1 layout and static IPs on libvirt (worker_count resizes it, as
-- in the default cluster.lua), sized for software emulation (QEMU TCG), with hooks that do real
-- work on the nodes. The libvirt-static and lifecycle scenarios use it.
local k0s = require "k0s"
local nodes = require "k0slua.nodes"
local taints = require "k0slua.taints"

local box = k0s.env.string("K0SLUA_E2E_BOX_NAME", "k0slua/debian12-test")

-- Each hook appends "<n> <phase> <node>" to a file on its node; n counts the hooks run so far on it.
local function mark(phase)
  return function(node, ctx)
    ctx.run(("n=$(($(sudo cat /var/tmp/k0slua-hooks 2>/dev/null | wc -l) + 1)); echo \"$n %s %s $(hostname)\" | sudo tee -a /var/tmp/k0slua-hooks >/dev/null")
      :format(phase, node.name))
  end
end
local hooks = { pre_join = mark("pre_join"), post_join = mark("post_join") }

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
                  cpus = 1, memory = 1024, disk = 10, hooks = hooks }
  ),
}
