-- Shape problems: types, unknown keys with suggestions, missing keys.
return {
  name = "shape",
  provdier = "tart", -- expect: unknown-key provdier
  network = {
    cidr = "192.168.64.0/33", -- expect: invalid-value network.cidr
  },
  k0s = { version = "1.33" }, -- expect: invalid-value k0s.version
  nodes = { -- expect: type-mismatch nodes[5]
    { name = "cp-1", role = "controller", ip = "192.168.64.10", cpus = 2, memory = "4G", disk = 32 }, -- expect: type-mismatch nodes[1].memory
    { name = "w-1", role = "wroker", ip = "192.168.64.20", cpus = 2, memory = 4096, disk = 32 }, -- expect: invalid-value nodes[2].role
    {
      name = "w-2",
      role = "worker",
      ip = "192.168.64.300", -- expect: invalid-value nodes[3].ip
      cpus = 2.5, -- expect: type-mismatch nodes[3].cpus
      memory = 4096,
      disk = 32,
      lables = {}, -- expect: unknown-key nodes[3].lables
    },
    { name = "w-3", role = "worker", ip = "192.168.64.22", cpus = 2, memory = 4096 }, -- expect: missing-key nodes[4].disk
    "worker-4",
  },
  load_balancer = "metallb", -- expect: invalid-value load_balancer
}
