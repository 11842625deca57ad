-- softnet: Tart with --net-softnet-allow=0.0.0.0/0, simulated: the vmnet network without bridge
-- isolation (e2e/vmnet.sh define … softnet) plus softnet's source-address enforcement (e2e/softnet.py):
-- a VM may send only from its DHCP lease. 3 controllers (real etcd quorum) + 1 worker, DHCP addressing.
local k0s = require "k0s"
local nodes = require "k0slua.nodes"

local function mark(phase)
  return function(node, ctx)
    ctx.run(("n=$(($(sudo cat /var/tmp/k0slua-hooks 2>/dev/null | wc -l) + 1)); echo \"$n %s %s $(hostname)\" | sudo tee -a /var/tmp/k0slua-hooks >/dev/null")
      :format(phase, node.name))
  end
end
local hooks = { pre_join = mark("pre_join"), post_join = mark("post_join") }

return {
  name = "softnet",
  provider = "libvirt",
  box = k0s.env.string("K0SLUA_E2E_TARTLIKE_BOX", "k0slua/tartlike-test"),
  -- The network e2e/vmnet.sh defined before `up`; vagrant-libvirt attaches the only NIC to it.
  network = { cidr = "192.168.64.0/24", libvirt_network = "k0slua-e2e-vmnet" },
  libvirt = { driver = "qemu", management_network_mode = "none", boot_timeout = 1200 },
  ssh = { user = "admin" },
  nodes = nodes.concat(
    nodes.class { prefix = "control-plane", role = "controller", count = 3, first_ip = "dhcp",
                  cpus = 1, memory = 1024, disk = 10, hooks = hooks },
    nodes.class { prefix = "worker", role = "worker", count = 1, first_ip = "dhcp",
                  cpus = 1, memory = 1024, disk = 10, hooks = hooks }
  ),
}
