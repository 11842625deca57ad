-- legacy-secondary: today's design before DHCP addressing (a static address added next to the
-- DHCP lease, where the kernel makes it a secondary address, and used as privateAddress) on the
-- softnet simulation, 3 controllers. A pre_join hook adds 192.168.64.24N/24 to the NIC, the way the
-- old provisioning script did (`ip addr replace`), and scenario.env tells the e2e k0sctl stand-in to
-- use it as each controller's etcd peer address (K0SLUA_E2E_PRIVATE_ADDRESSES). legacy-secondary-open
-- runs the same cluster without softnet's enforcement. Expected: the etcd quorum check fails.
local k0s = require "k0s"
local nodes = require "k0slua.nodes"
local e2e = require "e2e"

local function static(node)
  return ("192.168.64.%d"):format(240 + tonumber(node.name:match("%d+$")))
end

local hooks = {
  pre_join = function(node, ctx)
    ctx.run(("iface=$(ip -o -4 route show 192.168.64.0/24 | awk '{print $3; exit}'); sudo ip addr replace %s/24 dev \"$iface\"")
      :format(static(node)))
  end,
}

return e2e.on_vmnet {
  name = k0s.env.string("K0SLUA_E2E_NAME", "legacy"),
  nodes = nodes.class { prefix = "control-plane", role = "controller", count = 3, first_ip = "dhcp",
                        cpus = e2e.size.cpus, memory = e2e.size.memory, disk = e2e.size.disk, hooks = hooks,
                        workloads = function(index) return index == 1 end },
}
