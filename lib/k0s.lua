---@meta k0s
-- LuaCATS annotations for the host module `k0s` and the table cluster.lua returns. k0slua itself
-- provides the module (this file is never run); Lua language servers read it through .luarc.json
-- for completion and type checks while you edit cluster.lua. Reference: docs/cluster-lua.md.

---@class k0s
---@field env k0s.env         typed environment readers
---@field ipv4 k0s.ipv4       IPv4 and CIDR helpers
---@field log k0s.log         logging to k0slua's stderr log
---@field host k0s.host       read-only facts about the machine running k0slua
---@field version string      the k0s module's version
local k0s = {}

---@class k0s.env
local env = {}

--- An integer from the environment, or `default` when unset or empty. Errors name the variable and
--- the bad value: `environment variable worker_count: expected an integer, got "two"`.
--- ```lua
--- local workers = k0s.env.integer("worker_count", 1, { min = 0, max = 200 })
--- ```
---@param name string
---@param default? integer
---@param bounds? { min?: integer, max?: integer }
---@return integer
function env.integer(name, default, bounds) end

--- A string from the environment (surrounding spaces trimmed), or `default`.
---@param name string
---@param default? string
---@return string
function env.string(name, default) end

--- true/false, yes/no, on/off or 1/0 (any case) from the environment, or `default`.
---@param name string
---@param default? boolean
---@return boolean
function env.boolean(name, default) end

--- One of `choices` from the environment, or `default`.
--- ```lua
--- local provider = k0s.env.one_of("vagrant_provider", "tart", { "tart", "libvirt", "hosts" })
--- ```
---@generic T: string
---@param name string
---@param default? T
---@param choices T[]
---@return T
function env.one_of(name, default, choices) end

---@class k0s.ipv4
local ipv4 = {}

--- The address `offset` places after `ip` (negative offsets go back).
--- ```lua
--- k0s.ipv4.add("192.168.64.10", 2) --> "192.168.64.12"
--- ```
---@param ip string
---@param offset integer
---@return string
function ipv4.add(ip, offset) end

--- Whether `cidr` contains `ip`.
---@param cidr string e.g. "192.168.64.0/24"
---@param ip string
---@return boolean
function ipv4.contains(cidr, ip) end

--- The `index`-th address of `cidr` (0 is the network address).
--- ```lua
--- k0s.ipv4.host("10.77.0.0/24", 10) --> "10.77.0.10"
--- ```
---@param cidr string
---@param index integer
---@return string
function ipv4.host(cidr, index) end

---@class k0s.ipv4.Network
---@field network string
---@field prefix integer
---@field netmask string
---@field broadcast string
---@field first_host string
---@field last_host string
---@field size integer

--- Facts about a CIDR.
---@param cidr string
---@return k0s.ipv4.Network
function ipv4.network(cidr) end

---@class k0s.log
---@field debug fun(...: any)  shown with --verbose
---@field info fun(...: any)
---@field warn fun(...: any)

---@class k0s.host
---@field cpus integer       logical CPUs of the host
---@field memory_mb integer  physical memory of the host, MiB
---@field os "linux"|"macos"
---@field arch "arm64"|"x86_64"

-- The value cluster.lua returns ----------------------------------------------------------------

---@class k0slua.Cluster
---@field name? string                         cluster name (DNS label), default "k0slua"
---@field provider? "tart"|"libvirt"|"hosts"   default "tart"
---@field image? string                        tart image, default "ghcr.io/cirruslabs/ubuntu:24.04" (an applied cluster keeps its recorded image)
---@field box? string                          libvirt box, default "generic/ubuntu2204"
---@field network? k0slua.Network
---@field k0s? k0slua.K0s
---@field libvirt? k0slua.Libvirt
---@field ssh? k0slua.SSH                      defaults for every node
---@field nodes k0slua.Node[]
---@field hooks? k0slua.ClusterHooks
---@field load_balancer? "node-ip"|"off"   LoadBalancer services get the nodes' addresses (default "node-ip"), or "off" (bring MetalLB yourself)

---@class k0slua.Network
---@field cidr? string             default "192.168.64.0/24"
---@field gateway? string          default: the CIDR's first address
---@field mode? "softnet"|"shared"|"bridged"  tart only, default "softnet" (nodes use ip = "dhcp")
---@field bridge_interface? string tart bridged mode: host interface, e.g. "en0"
---@field libvirt_network? string  libvirt network carrying the node addresses, default "k0slua"

---@class k0slua.K0s
---@field version? string                     pin, e.g. "v1.33.4+k0s.0"; default latest stable
---@field vip? string                         control-plane virtual IP (keepalived)
---@field vip_auth_pass? string               VRRP password, 1-8 characters, default "k0slua"
---@field node_local_load_balancing? boolean  default: on with 2+ controllers

---@class k0slua.Libvirt
---@field driver? "kvm"|"qemu"                default "kvm"
---@field management_network_name? string
---@field management_network_mode? "nat"|"none"|"route"|"open"|"veryisolated"
---@field boot_timeout? integer               seconds

---@class k0slua.SSH
---@field address? string   default: the node's ip
---@field user? string      default: admin (tart), vagrant (libvirt), root (hosts)
---@field port? integer     default 22
---@field key_path? string  default: the cluster's own key in the state directory

---@class k0slua.Node
---@field name string                  hostname
---@field role "controller"|"worker"
---@field ip string|"dhcp"             static IPv4 address, or "dhcp": assigned at boot, discovered by `up`
---@field cpus integer
---@field memory integer               MiB
---@field disk integer                 GB
---@field workloads? boolean           controllers only: also run workloads (k0s controller+worker, no taint)
---@field labels? table<string, string>
---@field taints? string[]             "key[=value]:Effect"
---@field ssh? k0slua.SSH
---@field hooks? k0slua.NodeHooks
---@field k0sctl_hooks? table<"connect"|"apply"|"install"|"upgrade"|"reset"|"backup", { before?: string[], after?: string[] }>

---@class k0slua.NodeHooks
---@field pre_join? fun(node: k0slua.HookNode, ctx: k0slua.HookContext)
---@field post_join? fun(node: k0slua.HookNode, ctx: k0slua.HookContext)

---@class k0slua.ClusterHooks
---@field pre_join? fun(ctx: k0slua.HookContext)
---@field post_join? fun(ctx: k0slua.HookContext)

---@class k0slua.HookNode
---@field name string
---@field role "controller"|"worker"
---@field k0s_role "controller"|"controller+worker"|"worker"
---@field ip string                    the node's one address (a discovered DHCP address included)
---@field cpus integer
---@field memory integer
---@field disk integer
---@field labels table<string, string>
---@field taints string[]

---@class k0slua.RunResult
---@field code integer
---@field stdout string
---@field stderr string

---@class k0slua.HookContext
---@field run fun(command: string, options?: { check?: boolean }): k0slua.RunResult  node hooks: run on the node over SSH; raises on failure unless check = false
---@field run_on fun(node_name: string, command: string, options?: { check?: boolean }): k0slua.RunResult  run on any node
---@field kubectl fun(...: string): k0slua.RunResult  post_join only: kubectl against the new cluster
---@field log fun(...: any)
---@field phase "pre_join"|"post_join"
---@field cluster string             the cluster name
---@field nodes k0slua.HookNode[]     every node

return k0s
