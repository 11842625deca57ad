-- Bridged Tart puts the VMs on the LAN: its own cidr and gateway must be named.
local node = function(t) t.cpus, t.memory, t.disk = 2, 2048, 20; return t end
return {
  name = "bridged",
  network = { mode = "bridged", bridge_interface = "en0", cidr = "192.168.1.0/24" }, -- expect: missing-key network.gateway
  nodes = {
    node { name = "cp-1", role = "controller", workloads = true, ip = "192.168.1.10" },
    node { name = "w-1", role = "worker", ip = "dhcp" },
  },
}
