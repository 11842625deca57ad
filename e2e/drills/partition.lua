-- The e2e's partition drill (e2e/run.sh, lifecycle_drills): the first controller is cut off from
-- every other node; the drill checks from the guests that ping no longer crosses, then holds the
-- partition while the e2e probes it from outside, and k0slua lifts it at the end.
local controllers, others = {}, {}
for _, node in ipairs(drill.nodes) do
  if node.role == "controller" and #controllers == 0 then controllers[1] = node else others[#others + 1] = node end
end
local names = {}
for i, node in ipairs(others) do names[i] = node.name end

drill.partition({ controllers[1].name }, names)
for _, node in ipairs(others) do
  local code = drill.ssh(controllers[1].name, "ping -c 2 -W 2 " .. node.ip)
  drill.expect(code ~= 0, controllers[1].name .. " cannot ping " .. node.name)
  code = drill.ssh(node.name, "ping -c 2 -W 2 " .. controllers[1].ip)
  drill.expect(code ~= 0, node.name .. " cannot ping " .. controllers[1].name)
end
drill.sleep("45s") -- the e2e probes the partition from outside meanwhile
