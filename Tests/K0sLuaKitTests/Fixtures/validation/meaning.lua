-- Every meaning problem at once. A trailing expect marker names the code and path reported at that line.
local base = { cpus = 2, memory = 2048, disk = 32 }
local function node(t)
  for k, v in pairs(base) do if t[k] == nil then t[k] = v end end
  return t
end

return {
  name = "meaning",
  provider = "libvirt",
  network = { cidr = "192.168.64.0/24", gateway = "192.168.64.1" },
  k0s = { vip = "192.168.64.20" }, -- expect: invalid-vip k0s.vip
  nodes = {
    node { name = "cp-1", role = "controller", ip = "192.168.64.10" },
    node { name = "cp-1", role = "controller", ip = "192.168.64.11" }, -- expect: duplicate-name nodes[2].name
    node { name = "Bad_Name", role = "controller", ip = "192.168.64.12" }, -- expect: invalid-hostname nodes[3].name
    node { name = "cp-4", role = "controller", ip = "192.168.64.10" }, -- expect: duplicate-address nodes[4].ip
    node { name = "w-1", role = "worker", ip = "192.168.64.20" }, -- the VIP collides with this node (reported at k0s.vip)
    node { name = "w-2", role = "worker", ip = "192.168.65.21" }, -- expect: address-outside-network nodes[6].ip
    node { name = "w-3", role = "worker", ip = "192.168.64.0" }, -- expect: reserved-address nodes[7].ip
    node { name = "w-4", role = "worker", ip = "192.168.64.255" }, -- expect: reserved-address nodes[8].ip
    node { name = "w-5", role = "worker", ip = "192.168.64.1" }, -- expect: reserved-address nodes[9].ip
    node { name = "w-6", role = "worker", ip = "192.168.64.26", cpus = 0 }, -- expect: too-few-cpus nodes[10].cpus
    node { name = "cp-5", role = "controller", ip = "192.168.64.13", memory = 1000 }, -- expect: too-little-memory nodes[11].memory
    node { name = "w-7", role = "worker", ip = "192.168.64.27", memory = 256 }, -- expect: too-little-memory nodes[12].memory
    node { name = "w-8", role = "worker", ip = "192.168.64.28", disk = 5 }, -- expect: too-little-disk nodes[13].disk
    node { name = "w-9", role = "worker", ip = "192.168.64.29", labels = { ["-bad"] = "x" } }, -- expect: invalid-label nodes[14].labels["-bad"]
    node { name = "w-10", role = "worker", ip = "192.168.64.30", taints = { "dedicated=db:NoScheduleX" } }, -- expect: invalid-taint nodes[15].taints[1]
    node { name = "w-11", role = "worker", ip = "192.168.64.31", taints = { "novalue" } }, -- expect: invalid-taint nodes[16].taints[1]
    node { name = "w-12", role = "worker", ip = "192.168.64.32", workloads = true }, -- expect: workloads-on-worker nodes[17].workloads
  },
}
