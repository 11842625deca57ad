--- Taint rules: which controllers also run workloads.
local taints = {}

--- How many controllers run workloads: all of them below 3, otherwise a third (at least one).
---@param count integer number of controllers
---@return integer
function taints.workload_controller_count(count)
  if count < 3 then return count end
  return math.max(1, count // 3)
end

--- The product's rule as a `workloads` function for nodes.class: the first
--- workload_controller_count(count) controllers run workloads (k0s role controller+worker, no
--- control-plane taint); the rest are pure controllers.
---@param index integer 1-based controller index
---@param count integer number of controllers
---@return boolean
function taints.first_third(index, count)
  return index <= taints.workload_controller_count(count)
end

return taints
