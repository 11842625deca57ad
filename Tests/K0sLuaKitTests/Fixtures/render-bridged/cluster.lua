-- 1+1 on tart, bridged onto the host's Wi-Fi, pinned k0s.
local nodes = require "k0slua.nodes"

return {
  name = "lan",
  network = { cidr = "192.168.1.0/24", gateway = "192.168.1.254", mode = "bridged", bridge_interface = "en0" },
  k0s = { version = "v1.33.4+k0s.0" },
  nodes = nodes.concat(
    nodes.class { prefix = "control-plane", role = "controller", count = 1, first_ip = "192.168.1.200",
                  cpus = 2, memory = 2048, disk = 20, workloads = function() return true end },
    nodes.class { prefix = "worker", role = "worker", count = 1, first_ip = "192.168.1.210",
                  cpus = 2, memory = 4096, disk = 20 }
  ),
}
