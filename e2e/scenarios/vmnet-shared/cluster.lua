-- vmnet-shared: Tart's default network on macOS 13+, simulated (e2e/vmnet.sh define … shared):
-- one NIC per VM on a bridge whose ports are isolated, DHCP from the host on 192.168.64.0/24.
-- Nodes are addressed by DHCP, as Tart's are. Expected: `up` stops at connectivity.
local nodes = require "k0slua.nodes"
local e2e = require "e2e"
local size = e2e.size

return e2e.on_vmnet {
  name = "vmnet-shared",
  nodes = nodes.concat(
    nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "dhcp",
                  cpus = size.cpus, memory = size.memory, disk = size.disk, hooks = e2e.hooks },
    nodes.class { prefix = "worker", role = "worker", count = 1, first_ip = "dhcp",
                  cpus = size.cpus, memory = size.memory, disk = size.disk, hooks = e2e.hooks }
  ),
}
