-- libvirt: every node static or every node by DHCP; network modes belong to tart.
local node = function(t) t.cpus, t.memory, t.disk = 2, 2048, 20; return t end
return {
  name = "libvirt",
  provider = "libvirt",
  network = { mode = "softnet" }, -- expect: unsupported-setting network.mode
  nodes = {
    node { name = "cp-1", role = "controller", workloads = true, ip = "192.168.64.10" },
    node { name = "w-1", role = "worker", ip = "dhcp" }, -- expect: invalid-addressing nodes[2].ip
  },
}
