---@meta drill
-- LuaCATS annotations for the global `drill` of a drill file (`k0slua drill FILE.lua`). k0slua
-- provides it (this file is never run, and `require` cannot load it: its name is not a module
-- name); Lua language servers read it through .luarc.json. Reference: docs/drills.md. Examples:
-- drills/.

---@class drill.Node
---@field name string
---@field role "controller"|"worker"
---@field k0s_role "controller"|"controller+worker"|"worker"
---@field ip? string   the node's address (nil while a boot-assigned one is unknown)

---@class drill.Cluster
---@field name string
---@field provider "tart"|"libvirt"|"hosts"
---@field vip? string        k0s.vip, when set
---@field nllb boolean       node-local load balancing is on
---@field controllers integer
---@field workers integer

---@class drill.Check
---@field status "ok"|"failed"|"skipped"
---@field evidence string[]
---@field hint? string

---@class drill.HealthReport
---@field passed boolean
---@field checks table<string, drill.Check>   by check name, e.g. `report.checks.api.status`

---@class drill
---@field nodes drill.Node[]      the applied cluster's nodes (the record), controllers first
---@field cluster drill.Cluster
drill = {}

-- Faults: each is undone when the drill ends (also on failure, Ctrl-C and --timeout), newest first.

--- Halts the node's machine through the provider (`vagrant halt`); undone by booting it
--- (`vagrant up --no-provision`). Not on the hosts provider.
---@param node string
function drill.stop(node) end

--- Boots a machine (`vagrant up --no-provision`); a machine the drill stopped is then no longer a
--- fault to undo. Not on the hosts provider.
---@param node string
function drill.start(node) end

--- Stops the node's k0s service (`k0scontroller`, or `k0sworker`); undone by starting it.
---@param node string
function drill.kill_k0s(node) end

--- Drops all traffic between two groups of nodes, both directions, with an nftables table of its
--- own in each guest (`k0slua_drill_N`); undone by deleting the table.
--- ```lua
--- drill.partition({ "control-plane-3" }, { "control-plane-1", "control-plane-2" })
--- ```
---@param a string[]
---@param b string[]
function drill.partition(a, b) end

--- Delays every packet leaving the interface that carries the node's address (`tc qdisc …
--- netem delay`); undone by removing the qdisc.
---@param node string
---@param ms integer 1 to 60000
function drill.delay(node, ms) end

--- Allocates a file (/var/lib/k0slua-drill.fill) until the filesystem of /var/lib is `percent` %
--- full; undone by deleting it.
---@param node string
---@param percent integer 1 to 99
function drill.fill_disk(node, percent) end

--- Undoes every fault made so far (newest first) and goes on, e.g. to watch the cluster heal.
function drill.undo() end

-- Observations

--- Runs `k0slua health`'s checks (all but smoke by default; those a check needs run too).
--- ```lua
--- drill.expect(drill.health({ checks = { "api" } }).passed, "the API answers")
--- ```
---@param options? { checks?: string[] }
---@return drill.HealthReport
function drill.health(options) end

--- kubectl with the cluster's kubeconfig and `-o json` (unless -o is given): the decoded JSON, or
--- nil and kubectl's last error line.
--- ```lua
--- local nodes = drill.kubectl { "get", "nodes" }
--- ```
---@param words string[]
---@return table|nil json
---@return string? problem
function drill.kubectl(words) end

--- Runs a command on the node over SSH (the command is the drill's own: it is not quoted).
---@param node string
---@param command string
---@return integer code
---@return string stdout
---@return string stderr
function drill.ssh(node, command) end

--- Pauses: "500ms", "30s", "2m", or a number of seconds.
---@param duration string|number
function drill.sleep(duration) end

--- Calls `predicate` every `every` until it returns a true value (which wait returns); the drill
--- fails when `timeout` passes first. The predicate's own steps go to the log, not the timeline.
--- ```lua
--- drill.wait(function() return ready("worker-1") ~= "True" end, { timeout = "2m", every = "5s", label = "worker-1 NotReady" })
--- ```
---@generic T
---@param predicate fun(): T
---@param options? { timeout?: string|number, every?: string|number, label?: string }
---@return T
function drill.wait(predicate, options) end

-- Assertions and the end

--- Fails the drill (exit 1) with `message` unless `condition` is true.
---@param condition any
---@param message? string
function drill.expect(condition, message) end

--- A line in the timeline.
---@param ... any
function drill.note(...) end

--- Ends the drill as skipped (exit 0): it cannot run on this cluster, and `reason` says why.
---@param reason string
function drill.skip(reason) end

--- Ends the drill as failed (exit 1).
---@param message string
function drill.fail(message) end
