-- A worker's machine stops: its Node goes NotReady within the node monitor's grace period, the
-- machine starts again, the Node is Ready again and the cluster is healthy.
--   k0slua drill drills/worker-stop.lua                 (the first worker)
--   drill_worker=worker-2 k0slua drill drills/worker-stop.lua
-- Needs a provider that can power machines (tart, libvirt), not hosts. Reference: docs/drills.md.
local k0s = require "k0s"

local worker
for _, node in ipairs(drill.nodes) do
  if node.role == "worker" then
    worker = node.name
    break
  end
end
worker = k0s.env.string("drill_worker", worker)
if worker == nil then drill.skip("the cluster has no worker to stop") end

--- The status of the Node's Ready condition ("True", "False", "Unknown"), or nil when the API
--- does not answer or has no such Node.
local function ready(name)
  local list = drill.kubectl { "get", "nodes" }
  if list == nil then return nil end
  for _, node in ipairs(list.items) do
    if node.metadata.name == name then
      for _, condition in ipairs(node.status.conditions or {}) do
        if condition.type == "Ready" then return condition.status end
      end
    end
  end
  return nil
end

drill.expect(ready(worker) == "True", worker .. " is Ready before the drill")
drill.stop(worker)
-- kube-controller-manager marks a Node whose kubelet stopped posting Unknown after its
-- --node-monitor-grace-period (40 s by default): 2 minutes leave room for that.
drill.wait(function() return ready(worker) ~= "True" end, { timeout = "2m", every = "5s", label = worker .. " NotReady" })
drill.start(worker)
drill.wait(function() return ready(worker) == "True" end, { timeout = "5m", every = "5s", label = worker .. " Ready again" })
drill.expect(drill.health({ checks = { "nodes-ready" } }).passed, "every node is Ready")
