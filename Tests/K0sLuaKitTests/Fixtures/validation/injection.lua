-- Values that would become options, code or markup where they land. A trailing expect marker
-- names the code and path reported at that line.

return {
  name = "injection",
  provider = "libvirt",
  box = "generic/ubuntu2204\"; system('touch /tmp/pwned'); \"", -- expect: unsafe-value box
  ssh = { user = "-oProxyCommand=touch pwned" }, -- expect: unsafe-value ssh.user
  network = { cidr = "192.168.64.0/24", libvirt_network = "k0s lua$(id)" }, -- expect: unsafe-value network.libvirt_network
  libvirt = { management_network_name = "--help" }, -- expect: unsafe-value libvirt.management_network_name
  nodes = {
    { name = "cp-1", role = "controller", cpus = 2, memory = 2048, disk = 32, workloads = true, ip = "192.168.64.10" },
    { name = "w-1", role = "worker", cpus = 2, memory = 2048, disk = 32, ip = "192.168.64.20", ssh = { user = "root$(reboot)" } }, -- expect: unsafe-value nodes[2].ssh.user
    { name = "w-2", role = "worker", cpus = 2, memory = 2048, disk = 32, ip = "192.168.64.21", ssh = { user = "ok", address = "-oProxyCommand=sh" } }, -- expect: unsafe-value nodes[3].ssh.address
    { name = "w-3", role = "worker", cpus = 2, memory = 2048, disk = 32, ip = "192.168.64.22", ssh = { user = "ok", address = "host;reboot" } }, -- expect: unsafe-value nodes[4].ssh.address
    { name = "w-4", role = "worker", cpus = 2, memory = 2048, disk = 32, ip = "192.168.64.23", ssh = { user = "ok", key_path = "id\nProxyCommand x" } }, -- expect: unsafe-value nodes[5].ssh.key_path
    { name = "w-5", role = "worker", cpus = 2, memory = 2048, disk = 32, ip = "192.168.64.24", ssh = { user = "ok", address = "w5.example.com", key_path = "keys/id_ed25519" } },
    { name = "w-6", role = "worker", cpus = 2, memory = 2048, disk = 32, ip = "192.168.64.25", ssh = { address = "fe80::1" } },
    { name = "w-7", role = "worker", cpus = 2, memory = 2048, disk = 32, ip = "192.168.64.26", labels = { tier = "$(id)" } }, -- expect: invalid-label nodes[8].labels.tier
  },
}
