-- Tart's default network (softnet) passes only each VM's DHCP lease: static addresses and a VIP cannot work.
local node = function(t) t.cpus, t.memory, t.disk = 2, 2048, 20; return t end
return {
  name = "softnet",
  k0s = { vip = "192.168.64.100" }, -- expect: invalid-vip k0s.vip
  nodes = {
    node { name = "cp-1", role = "controller", workloads = true, ip = "dhcp" },
    node { name = "w-1", role = "worker", ip = "192.168.64.20" }, -- expect: invalid-addressing nodes[2].ip
  },
}
