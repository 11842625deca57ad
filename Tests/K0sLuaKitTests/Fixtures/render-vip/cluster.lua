-- 3+2 on tart with a control-plane VIP (keepalived) on bridged networking.
local nodes = require "k0slua.nodes"
local taints = require "k0slua.taints"

return {
  name = "ha",
  network = { cidr = "192.168.1.0/24", gateway = "192.168.1.1", mode = "bridged", bridge_interface = "en0" },
  k0s = { vip = "192.168.1.100", vip_auth_pass = "k0svip1" },
  nodes = nodes.concat(
    nodes.class { prefix = "control-plane", role = "controller", count = 3, first_ip = "192.168.1.10",
                  cpus = 2, memory = 2048, disk = 32, workloads = taints.first_third },
    nodes.class { prefix = "worker", role = "worker", count = 2, first_ip = "192.168.1.20",
                  cpus = 2, memory = 4096, disk = 32 }
  ),
}
