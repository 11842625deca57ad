-- softnet: Tart with --net-softnet-allow=0.0.0.0/0, simulated: the vmnet network without bridge
-- isolation (e2e/vmnet.sh define … softnet) plus softnet's source-address enforcement (e2e/softnet.py):
-- a VM may send only from its DHCP lease. 3 controllers (real etcd quorum) + 1 worker, DHCP addressing.
local nodes = require "k0slua.nodes"
local e2e = require "e2e"
local size = e2e.size

return e2e.on_vmnet {
  name = "softnet",
  nodes = nodes.concat(
    nodes.class { prefix = "control-plane", role = "controller", count = 3, first_ip = "dhcp",
                  cpus = size.cpus, memory = size.memory, disk = size.disk, hooks = e2e.hooks },
    nodes.class { prefix = "worker", role = "worker", count = 1, first_ip = "dhcp",
                  cpus = size.cpus, memory = size.memory, disk = size.disk, hooks = e2e.hooks }
  ),
}
