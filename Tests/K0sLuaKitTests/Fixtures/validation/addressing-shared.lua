-- Tart's shared network: a static address would be a secondary address next to the DHCP lease.
local node = function(t) t.cpus, t.memory, t.disk = 2, 2048, 20; return t end
return {
  name = "shared",
  network = { mode = "shared" },
  nodes = {
    node { name = "cp-1", role = "controller", workloads = true, ip = "192.168.64.10" }, -- expect: invalid-addressing nodes[1].ip
  },
}
