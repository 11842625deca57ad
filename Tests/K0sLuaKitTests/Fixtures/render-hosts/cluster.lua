-- Existing machines over SSH: no VMs, k0sctl.yaml only.
return {
  name = "metal",
  provider = "hosts",
  network = { cidr = "10.0.10.0/24" },
  ssh = { user = "ops", key_path = "~/.ssh/id_ed25519" },
  nodes = {
    { name = "m1", role = "controller", ip = "10.0.10.11", cpus = 4, memory = 8192, disk = 100 },
    { name = "m2", role = "controller", ip = "10.0.10.12", cpus = 4, memory = 8192, disk = 100 },
    { name = "m3", role = "controller", ip = "10.0.10.13", cpus = 4, memory = 8192, disk = 100 },
    {
      name = "w1", role = "worker", ip = "10.0.10.21", cpus = 8, memory = 16384, disk = 200,
      ssh = { address = "w1.metal.example.com", port = 2222, user = "root" },
    },
  },
}
