-- libvirt: 3 controllers (one runs workloads), labelled and tainted workers, k0sctl and Lua hooks.
local nodes = require "k0slua.nodes"
local taints = require "k0slua.taints"

local controllers = nodes.class {
  prefix = "ctl", role = "controller", count = 3, first_ip = "10.77.0.10",
  cpus = 2, memory = 2048, disk = 20, workloads = taints.first_third,
}
controllers[1].labels = { ["node.example.com/edge"] = "true" }
controllers[1].k0sctl_hooks = { apply = { before = { "sudo systemctl stop apparmor || true" } } }

local workers = nodes.class {
  prefix = "db", role = "worker", count = 2, first_ip = "10.77.0.20",
  cpus = 2, memory = 4096, disk = 40,
  labels = { tier = "db" },
  taints = { "dedicated=db:NoSchedule", "maintenance:PreferNoSchedule" },
  hooks = {
    pre_join = function(node, ctx) ctx.run("echo " .. node.name .. " > /tmp/pre_join") end,
  },
}
workers[2].k0sctl_hooks = { install = { before = { "echo \"quoted\" 'and' $HOME" }, after = { "true" } } }

return {
  name = "lab",
  provider = "libvirt",
  box = "k0slua/debian12-test",
  network = { cidr = "10.77.0.0/24", libvirt_network = "lab-net" },
  libvirt = { driver = "qemu", management_network_name = "lab-mgmt", management_network_mode = "none", boot_timeout = 1200 },
  k0s = { version = "v1.33.4+k0s.0" },
  nodes = nodes.concat(controllers, workers),
  hooks = { post_join = function(ctx) ctx.log("done") end },
}
