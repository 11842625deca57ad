-- What the e2e scenarios' cluster.lua files share (run.sh puts this module next to the product's
-- lib/ in each scenario's work directory, so `require "e2e"` finds it).
local k0s = require "k0s"

local e2e = {}

-- Each hook appends "<n> <phase> <node> <hostname>" to /var/tmp/k0slua-hooks on its node; n counts
-- the hooks run so far there, so the e2e can tell a hook that ran twice or on the wrong node.
local function mark(phase)
  return function(node, ctx)
    ctx.run(("n=$(($(sudo cat /var/tmp/k0slua-hooks 2>/dev/null | wc -l) + 1)); echo \"$n %s %s $(hostname)\" | sudo tee -a /var/tmp/k0slua-hooks >/dev/null")
      :format(phase, node.name))
  end
end
e2e.hooks = { pre_join = mark("pre_join"), post_join = mark("post_join") }

-- A cluster on the simulated vmnet network (e2e/vmnet.sh defines it before `up`): the Tart-like
-- box, its admin user, one NIC that vagrant-libvirt attaches to that network, sized for QEMU TCG.
function e2e.on_vmnet(cluster)
  cluster.provider = "libvirt"
  cluster.box = k0s.env.string("K0SLUA_E2E_TARTLIKE_BOX", "k0slua/tartlike-test")
  cluster.network = { cidr = "192.168.64.0/24", libvirt_network = "k0slua-e2e-vmnet" }
  cluster.libvirt = { driver = "qemu", management_network_mode = "none", boot_timeout = 1200 }
  cluster.ssh = { user = "admin" }
  return cluster
end

-- Every e2e VM's size.
e2e.size = { cpus = 1, memory = 1024, disk = 10 }

return e2e
