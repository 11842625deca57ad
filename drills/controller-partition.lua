-- One controller of three is cut off from the other two (nftables in the guests, both
-- directions): the API keeps answering through the two, and once the partition is lifted the
-- cut controller's etcd is back in the cluster.
--   k0slua drill drills/controller-partition.lua
-- Needs at least 3 controllers (control_plane_count=3). Reference: docs/drills.md.
local k0s = require "k0s"

local controllers = {}
for _, node in ipairs(drill.nodes) do
  if node.role == "controller" then controllers[#controllers + 1] = node.name end
end
if #controllers < 3 then
  drill.skip(("%d controller(s): etcd needs 3 to lose one and keep its quorum"):format(#controllers))
end

-- The first controller is the one k0sctl leads with and the kubeconfig names (without a VIP):
-- cut off the last one instead, so the API stays reachable from here.
local cut = controllers[#controllers]
local rest = {}
for i = 1, #controllers - 1 do rest[i] = controllers[i] end

--- Whether `node`'s own etcd lists every member (it needs a quorum to answer).
local function etcd_answers(node)
  local code, out = drill.ssh(node, "sudo k0s etcd member-list")
  return code == 0 and out:find("members", 1, true) ~= nil
end

drill.expect(etcd_answers(cut), cut .. "'s etcd answers before the drill")
drill.partition({ cut }, rest)
drill.wait(function() return drill.health({ checks = { "api" } }).passed end,
  { timeout = "1m", every = "5s", label = "the API answers through " .. table.concat(rest, ", ") })
drill.expect(etcd_answers(rest[1]), "etcd keeps its quorum on " .. rest[1])
drill.sleep(k0s.env.string("drill_hold", "20s")) -- how long the partition holds
drill.undo() -- lift the partition
drill.wait(function() return etcd_answers(cut) end, { timeout = "3m", every = "5s", label = cut .. "'s etcd back in the cluster" })
drill.expect(drill.health({ checks = { "api", "k0s-status" } }).passed, "the cluster is healthy")
