--- Node classes: many nodes that share a role and resources, with sequential names and IPs.
local k0s = require "k0s"

local nodes = {}

---@class k0slua.NodeClass
---@field prefix string      name prefix; nodes are called "<prefix>-1", "<prefix>-2", …
---@field role "controller"|"worker"
---@field count integer      how many nodes
---@field first_ip string    the first node's address, the others following (+1 each); or "dhcp": every node takes the address DHCP gives it at boot
---@field cpus integer
---@field memory integer     MiB
---@field disk integer       GB
---@field labels? table<string,string>
---@field taints? string[]
---@field workloads? fun(index: integer, count: integer): boolean  controllers only: which ones run workloads
---@field hooks? k0slua.NodeHooks

--- Expands a node class into a list of node tables, one per index.
---@param class k0slua.NodeClass
---@return k0slua.Node[]
function nodes.class(class)
  if type(class) ~= "table" then error("nodes.class: expected a table", 2) end
  for _, key in ipairs({ "prefix", "role", "count", "first_ip", "cpus", "memory", "disk" }) do
    if class[key] == nil then error(("nodes.class: missing %q"):format(key), 2) end
  end
  if math.type(class.count) ~= "integer" or class.count < 0 then
    error(("nodes.class: count must be a non-negative integer, got %s"):format(tostring(class.count)), 2)
  end
  local list = {}
  for i = 1, class.count do
    local node = {
      name = ("%s-%d"):format(class.prefix, i),
      role = class.role,
      ip = class.first_ip == "dhcp" and "dhcp" or k0s.ipv4.add(class.first_ip, i - 1),
      cpus = class.cpus,
      memory = class.memory,
      disk = class.disk,
      labels = class.labels,
      taints = class.taints,
      hooks = class.hooks,
    }
    if class.role == "controller" and class.workloads ~= nil then
      node.workloads = class.workloads(i, class.count)
    end
    list[#list + 1] = node
  end
  return list
end

--- Concatenates lists of nodes.
---@param ... k0slua.Node[]
---@return k0slua.Node[]
function nodes.concat(...)
  local all = {}
  for _, list in ipairs({ ... }) do
    for _, node in ipairs(list) do all[#all + 1] = node end
  end
  return all
end

return nodes
