-- The leading controller's k0s is killed: the API answers through another controller. That needs
-- a way to reach the API that does not end at the leader: a VIP (k0s.vip: keepalived moves it),
-- or node-local load balancing for the workers (on by default with 2+ controllers). Without
-- either, or with one controller, the drill says why it cannot run and skips.
--   k0slua drill drills/leader-kill.lua
-- Reference: docs/drills.md.
local k0s = require "k0s"

local controllers = {}
for _, node in ipairs(drill.nodes) do
  if node.role == "controller" then controllers[#controllers + 1] = node.name end
end
if #controllers < 2 then
  drill.skip("one controller: killing its k0s takes the API down, there is no other controller to answer")
end
local cluster = drill.cluster
if cluster.vip == nil and not cluster.nllb then
  drill.skip("no VIP and no node-local load balancing: the kubeconfig and every worker reach the API through "
    .. controllers[1] .. " alone; set k0s.vip or k0s.node_local_load_balancing = true in cluster.lua")
end

-- k0sctl's leader is the first controller (config order); the kubeconfig names it without a VIP.
local leader, other = controllers[1], controllers[2]

local function api_through_other()
  if cluster.vip ~= nil then
    return drill.kubectl { "get", "nodes" } ~= nil -- the kubeconfig names the VIP
  end
  -- With node-local load balancing the workers' kubelets go through their local balancer; the
  -- kubeconfig still names the leader, so ask the other controller's API directly.
  local code = drill.ssh(other, "sudo k0s kubectl get --raw /readyz")
  return code == 0
end

drill.expect(api_through_other(), "the API answers before the drill")
drill.kill_k0s(leader)
drill.wait(api_through_other, { timeout = "2m", every = "5s", label = "the API answers without " .. leader })
local hold = k0s.env.string("drill_hold", "30s")
drill.sleep(hold)
drill.expect(api_through_other(), "the API still answers " .. hold .. " later")
