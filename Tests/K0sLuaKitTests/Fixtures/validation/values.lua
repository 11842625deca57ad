-- Values of the right type whose meaning is wrong: a k0s version, ports, labels. The lines are those
-- of the keys (a port in a multi-line ssh table is reported at its own line).
local base = { cpus = 2, memory = 2048, disk = 32 }
local function node(t)
  for k, v in pairs(base) do if t[k] == nil then t[k] = v end end
  return t
end

return {
  name = "values",
  provider = "libvirt",
  k0s = {
    version = "1.33", -- expect: invalid-value k0s.version
  },
  ssh = {
    user = "vagrant",
    port = 0, -- expect: invalid-value ssh.port
  },
  nodes = {
    node { name = "cp-1", role = "controller", ip = "192.168.64.10", workloads = true,
           ssh = { user = "ops" } }, -- expect: invalid-value nodes[1].ssh.port
    node { name = "w-1", role = "worker", ip = "192.168.64.20",
           ssh = {
             port = 70000, -- expect: invalid-value nodes[2].ssh.port
           } },
    node { name = "w-2", role = "worker", ip = "192.168.64.21", labels = { ["a/b/c"] = "x", ok = "yes" } }, -- expect: invalid-label nodes[3].labels["a/b/c"]
    node { name = "w-3", role = "worker", ip = "192.168.64.22",
           labels = { -- expect: invalid-label nodes[4].labels["bad key"]
             tier = "db",
             ["bad key"] = "v", -- (reported at the line of the labels table)
           } },
  },
}
