-- Existing hosts need their address.
local node = function(t) t.cpus, t.memory, t.disk = 2, 2048, 20; return t end
return {
  name = "hosts",
  provider = "hosts",
  nodes = {
    node { name = "cp-1", role = "controller", workloads = true, ip = "10.0.0.10" },
    node { name = "w-1", role = "worker", ip = "dhcp" }, -- expect: invalid-addressing nodes[2].ip
  },
}
