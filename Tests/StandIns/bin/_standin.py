"""Stand-ins for vagrant, tart, k0sctl, kubectl, ssh and the macOS host tools (sw_vers, defaults,
ifconfig, stat, sudo), for tests on machines without Tart,
vagrant-tart, k0s or k0sctl. They accept the real argument shapes (shared/reference/contracts.md),
answer with the real output shapes and exit codes, keep a little state so that later calls agree
with earlier ones, and append every call to $K0SLUA_STANDIN_LOG as one JSON line.

Environment:
  K0SLUA_STANDIN_STATE   directory for state (required)
  K0SLUA_STANDIN_LOG     transcript file (JSON lines)
  K0SLUA_STANDIN_FAIL    comma list of TOOL:SUBCOMMAND (e.g. vagrant:up, k0sctl:apply, ssh:hook)
                         making that call fail the way the real tool fails; vagrant:halt:MACHINE
                         fails the halt of that machine only
  K0SLUA_STANDIN_DELAY   comma list of TOOL:SUBCOMMAND[:MACHINE]=SECONDS (vagrant halt: each
                         machine's shutdown in turn, as Vagrant halts one after another)
  K0SLUA_STANDIN_CLEANUP seconds vagrant needs to clean up after a first SIGINT (a second SIGINT
                         exits at once without cleanup, as Vagrant does); unset: exit at once
  K0SLUA_STANDIN_CLEANUP_UNTIL  a path: that cleanup ends as soon as the file exists (a test holds
                         vagrant in its cleanup for as long as it checks, however slow the machine)
  K0SLUA_STANDIN_FAULTS  comma list of cluster faults: partition:NAME/NAME, unreachable:NAME,
                         node-notready:NAME, node-missing:NAME, node-wrong-ip:NAME, extra-taint:NAME,
                         k0s-down:NAME, coredns-crashloop, api-down, hang:NAME (ssh to it never answers),
                         probe-silent:NAME (its probe prints nothing, exit 0), probe-partial:NAME
                         (answers only the first address), k0s-status-norole:NAME (`k0s status`
                         without its Role line), no-k0s:NAME, disk-full:NAME, image-lost:NAME
                         (k0slua image load), vagrant-ruby-exception (a failing vagrant command
                         prints a Ruby exception and its backtrace, as Vagrant does for a plugin's error)
  K0SLUA_STANDIN_JOURNAL JSON {node: text}: lines the node's k0s journal adds (k0slua support)
  K0SLUA_STANDIN_MACOS   JSON file describing the Mac for sw_vers, defaults, ifconfig, stat, sudo and
                         `tart list` (README.md)
  K0SLUA_STANDIN_ARCH    comma list of ADDRESS=MACHINE: what `uname -m` prints on that node (x86_64
                         when not listed)
"""
import atexit
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import random
import shutil
import signal
import subprocess
import sys
import time

STATE = os.environ.get("K0SLUA_STANDIN_STATE", "/tmp/k0slua-standin-state")
K0SCTL_LOG = os.path.expanduser("~/.cache/k0sctl/k0sctl.log")
TOOL = ""
ARGV = []


def spawned_at():
    """When this process was created (epoch seconds), from /proc: includes interpreter start-up."""
    try:
        ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        # Age from the boot clock (btime in /proc/stat is whole seconds, off by up to one).
        return time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


def record(extra=None):
    path = os.environ.get("K0SLUA_STANDIN_LOG")
    if not path:
        return
    entry = {"tool": TOOL, "argv": ARGV, "cwd": os.getcwd(), "pid": os.getpid(),
             "time": time.time() if extra and extra.get("end") else spawned_at()}
    env = {k: os.environ[k] for k in ("SSH_KNOWN_HOSTS", "VAGRANT_CWD", "VAGRANT_CHECKPOINT_DISABLE",
                                      "VAGRANT_BOX_UPDATE_CHECK_DISABLE", "KUBECONFIG") if k in os.environ}
    if env:
        entry["env"] = env
    if not extra:
        # The same clock as the `end` line's time (`time` above comes from whole-second btime).
        entry["started"] = time.time()
    if extra:
        entry.update(extra)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(entry) + "\n")
        fcntl.flock(f, fcntl.LOCK_UN)


INTERRUPTS = 0


def on_signal(number, _frame):
    global INTERRUPTS
    record({"signal": "INT" if number == signal.SIGINT else "TERM"})
    cleanup = float(os.environ.get("K0SLUA_STANDIN_CLEANUP", "0")) if TOOL == "vagrant" else 0
    if number == signal.SIGINT and cleanup > 0:
        INTERRUPTS += 1
        if INTERRUPTS == 1:
            # Like Vagrant: the first SIGINT rolls back what it was doing, which takes a while; a
            # second one (this handler again, nested in the sleep below) exits at once.
            sys.stderr.write("==> vagrant: Waiting for cleanup before exiting...\n")
            sys.stderr.flush()
            gate = os.environ.get("K0SLUA_STANDIN_CLEANUP_UNTIL")
            deadline = time.monotonic() + cleanup
            while time.monotonic() < deadline and not (gate and os.path.exists(gate)):
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            record({"event": "cleanup-done"})
            sys.exit(1)
        sys.stderr.write("==> vagrant: Exiting immediately, without cleanup!\n")
        record({"event": "cleanup-skipped"})
        os._exit(1)
    sys.exit(130)


def listed(variable):
    return [item.strip() for item in os.environ.get(variable, "").split(",") if item.strip()]


def should_fail(subcommand):
    return f"{TOOL}:{subcommand}" in listed("K0SLUA_STANDIN_FAIL")


def delay(subcommand, machine=None):
    seconds = 0.0
    for item in listed("K0SLUA_STANDIN_DELAY"):
        key, _, value = item.partition("=")
        if key == f"{TOOL}:{subcommand}" or (machine and key == f"{TOOL}:{subcommand}:{machine}"):
            seconds = max(seconds, float(value))
    return seconds


def faults():
    return listed("K0SLUA_STANDIN_FAULTS")


def load(name, default):
    path = os.path.join(STATE, name)
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def save(name, value):
    os.makedirs(STATE, exist_ok=True)
    tmp = os.path.join(STATE, f"{name}.{os.getpid()}.tmp")  # several stand-ins may save at once
    with open(tmp, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(STATE, name))


HELD_LOCKS = []


def machine_action_lock(environment, machine):
    """Vagrant's per-machine lock (lib/vagrant/machine.rb `action`: `@env.lock("machine-action-#{id}")`,
    the id from the project and the machine's name): held until this process ends; False when
    another process holds it (Vagrant's MachineActionLockedError). Several processes acting on
    different machines of one project run side by side."""
    os.makedirs(STATE, exist_ok=True)
    name = hashlib.md5(f"{environment}/{machine}".encode()).hexdigest()
    handle = open(os.path.join(STATE, f"lock.machine-action-{name}.lock"), "w+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    HELD_LOCKS.append(handle)
    return True


class locked_state:
    """Read-modify-write of the stand-ins' state by several processes at once (concurrent halts)."""
    def __enter__(self):
        os.makedirs(STATE, exist_ok=True)
        self.handle = open(os.path.join(STATE, "state.lock"), "w+")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *_):
        self.handle.close()


def out(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def err(text):
    sys.stderr.write(text)
    sys.stderr.flush()


# ---------------------------------------------------------------------------------------- vagrant

def vagrantfile_machines():
    directory = os.environ.get("VAGRANT_CWD") or os.getcwd()
    path = os.path.join(directory, "Vagrantfile")
    if not os.path.exists(path):
        err("A Vagrant environment or target machine is required to run this\ncommand. Run `vagrant init` to create a new Vagrant environment.\n")
        sys.exit(1)
    text = open(path).read()
    machines = []
    for match in re.finditer(r'config\.vm\.define "([^"]+)" do \|node\|(.*?)\n  end', text, re.S):
        name, body = match.group(1), match.group(2)
        # A static address: libvirt's private_network ip, or bridged Tart's provisioner argument.
        static = re.search(r'private_network,\s*ip: "([^"]+)"', body) or re.search(r'CLUSTER_KEY, "netplan", "([^"]+)"', body)
        # Otherwise DHCP on the network the VM is attached to.
        network = re.search(r'--net-softnet-allow=(?:0\.0\.0\.0/0,)?([0-9./]+)|management_network_address = "([0-9./]+)"', body)
        cidr = (network.group(1) or network.group(2)) if network else "192.168.64.0/24"
        if 'provider "tart"' in body and os.environ.get("K0SLUA_STANDIN_VMNET_SUBNET"):
            # vmnet hands out its own subnet whatever cluster.lua says (macOS 26 ignores com.apple.vmnet.plist).
            cidr = os.environ["K0SLUA_STANDIN_VMNET_SUBNET"]
        tart_name = re.search(r'tart\.name = "([^"]+)"', body)
        tart_image = re.search(r'tart\.image = "([^"]+)"', body)
        size = {key: int(m.group(1)) for key in ("cpus", "memory") for m in [re.search(r'(?:tart|lv)\.' + key + r' = (\d+)', body)] if m}
        prefix = re.search(r'lv\.default_prefix = "([^"]*)"', text)
        machines.append({"name": name, "ip": static.group(1) if static else None, "cidr": cidr,
                         "provider": "tart" if 'provider "tart"' in body else "libvirt",
                         "tart_name": tart_name.group(1) if tart_name else None, "size": size,
                         "tart_image": tart_image.group(1) if tart_image else None,
                         # vagrant-libvirt names the domain <default_prefix><machine>
                         "domain": (prefix.group(1) if prefix else os.path.basename(directory) + "_") + name})
    return directory, machines


def environment_key(directory, create=False):
    """Vagrant finds an environment's machines through its local data directory `.vagrant/`
    (`machines/<name>/<provider>/id`), which moves with the project: the stand-in keeps the key of
    the environment's state there, written by the first `up` (the directory it ran in)."""
    path = os.path.join(directory, ".vagrant", "standin_environment")
    if os.path.exists(path):
        return open(path).read().strip()
    if create:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(directory + "\n")
    return directory


def lease(machine, state, previous=None):
    """Like a DHCP server: the machine keeps its lease (a halted one too, unless the fault
    new-lease:NAME says the lease expired); a new one gets the lowest free address from .2."""
    if machine["ip"]:
        return machine["ip"]
    if previous and f"new-lease:{machine['name']}" not in faults():
        return previous
    taken = {m.get("ip") for env_state in state.values() for m in env_state.values() if m.get("state") != "not_created"}
    if previous:
        taken.add(previous)
    network = ipaddress.ip_network(machine["cidr"])
    for host in list(network.hosts())[1:]:
        if str(host) not in taken:
            return str(host)
    raise SystemExit("stand-in DHCP pool exhausted")


def vagrant(args):
    if args[:1] == ["--version"]:
        out("Vagrant 2.3.4\n")
        return 0
    if args[:2] == ["plugin", "list"]:
        plugins = os.environ.get("K0SLUA_STANDIN_PLUGINS", "vagrant-tart (1.0.0, global),vagrant-libvirt (0.11.2, system)")
        out("".join(p.strip() + "\n" for p in plugins.split(",") if p.strip()))
        return 0
    if not args:
        err("Usage: vagrant [options] <command> [<args>]\n")
        return 1
    command, rest = args[0], args[1:]
    directory, machines = vagrantfile_machines()
    state = load("vagrant.json", {})
    key = environment_key(directory, create=command == "up")
    env_state = state.setdefault(key, {})
    if command == "up":
        provider, parallel, targets = None, True, []
        i = 0
        while i < len(rest):
            a = rest[i]
            if a == "--provider":
                provider = rest[i + 1]
                i += 2
                continue
            if a == "--parallel":
                parallel = True
            elif a == "--no-parallel":
                parallel = False
            elif a in ("--provision", "--no-provision"):
                pass
            elif a.startswith("-"):
                err(f"An invalid option was specified. The help for this command\nis available below.\n\n    {a}\n")
                return 1
            else:
                targets.append(a)
            i += 1
        chosen = [m for m in machines if not targets or m["name"] in targets]
        unknown = set(targets) - {m["name"] for m in machines}
        if unknown:
            err(f"The machine with the name '{sorted(unknown)[0]}' was not found configured for\nthis Vagrant environment.\n")
            return 1
        for m in chosen:
            out(f"Bringing machine '{m['name']}' up with '{provider or m['provider']}' provider...\n")
        delays = [delay("up", m["name"]) for m in chosen if env_state.get(m["name"], {}).get("state") != "running"]
        time.sleep((max(delays) if parallel else sum(delays)) if delays else 0)
        if should_fail("up"):
            err(f"An error occurred while executing the action on the '{chosen[0]['name']}'\nmachine. Please handle this error then try again:\n\nThe VM failed to boot (stand-in failure injected).\n")
            return 1
        tart_vms = load("tart.json", {})
        for m in chosen:
            before = env_state.get(m["name"], {})
            if before.get("state") == "running":
                out(f"==> {m['name']}: Machine already provisioned. Run `vagrant provision` or use the `--provision`\n")
                continue
            if before.get("state") in ("shutoff", "stopped"):
                # A halted machine boots again; it keeps its disk and (normally) its DHCP lease. Its CPUs and
                # memory are set from the Vagrantfile on start (vagrant-libvirt action/start_domain.rb redefines
                # the domain; vagrant-tart action/start_instance.rb runs `tart set --cpu --memory`).
                # A boot sets the guest's clock from the host's (the RTC): whatever it stood at is gone.
                booted = {k: v for k, v in before.items() if k != "clock"}
                env_state[m["name"]] = dict(booted, state="running", ip=lease(m, state, before.get("ip")), **m["size"])
                out(f"==> {m['name']}: Machine already provisioned. Run `vagrant provision` or use the `--provision`\n")
                continue
            if m["provider"] == "libvirt" and m["domain"] in load("virsh.json", {}):
                # vagrant-libvirt finds the domain of .vagrant/machines/<name>/libvirt/id (a restored
                # snapshot defined it again) and starts it: no box import, no provisioning.
                env_state[m["name"]] = {"state": "running", "ip": lease(m, state), "provider": "libvirt", **m["size"]}
                domains = load("virsh.json", {})
                domains[m["domain"]] = "running"
                save("virsh.json", domains)
                out(f"==> {m['name']}: Starting domain.\n")
                continue
            env_state[m["name"]] = {"state": "running", "ip": lease(m, state), "provider": provider or m["provider"], **m["size"]}
            # Vagrant's data of the machine: .vagrant/machines/<name>/<provider>/id
            machine_dir = os.path.join(directory, ".vagrant", "machines", m["name"], m["provider"])
            os.makedirs(machine_dir, exist_ok=True)
            with open(os.path.join(machine_dir, "id"), "w") as f:
                f.write(m["domain"] if m["provider"] == "libvirt" else (m["tart_name"] or m["name"]))
            if m["provider"] == "libvirt":
                domains = load("virsh.json", {})
                domains[m["domain"]] = "running"
                save("virsh.json", domains)
                volumes = load("volumes.json", {})
                volumes[m["domain"] + ".img"] = {"domain": m["domain"], "content": f"box image, first boot of {m['domain']}"}
                save("volumes.json", volumes)
            if m["tart_name"]:
                # vagrant-tart action/pull_image.rb pulls only when `tart list` lacks the image;
                # create_instance.rb then clones it unless a VM of that name exists.
                if m["tart_name"] not in tart_vms and m["tart_image"] and remote_name(m["tart_image"]) not in tart_images():
                    if tart_pull(m["tart_image"]) != 0:
                        save("vagrant.json", state)
                        save("tart.json", tart_vms)
                        return 1
                # Tart names are global on the host: vagrant-tart reuses an existing VM of that name.
                owner = tart_vms.setdefault(m["tart_name"], {"dir": key, "machine": m["name"]})
                if not os.path.exists(tart_config(m["tart_name"])):
                    write_tart_config(m["tart_name"], random_mac())
                if owner.get("dir") is None:
                    # A VM `tart clone` made under this name (a restored snapshot): vagrant-tart takes it.
                    owner.update(dir=key, machine=m["name"])
                elif owner["dir"] != key:
                    owner.setdefault("shared_with", []).append(key)
            out(f"==> {m['name']}: Running provisioner: k0slua (shell)...\n")
        save("vagrant.json", state)
        save("tart.json", tart_vms)
        if should_fail("boot-timeout"):
            # Vagrant's boot_timeout message (templates/locales/en.yml): the guest booted, SSH never answered.
            err("Timed out while waiting for the machine to boot. This means that\nVagrant was unable to communicate with the guest machine within\n"
                "the configured (\"config.vm.boot_timeout\" value) time period.\n")
            return 1
        return 0
    if command == "halt":
        targets = [a for a in rest if not a.startswith("-")]
        unknown = set(targets) - {m["name"] for m in machines}
        if unknown:
            err(f"The machine with the name '{sorted(unknown)[0]}' was not found configured for\nthis Vagrant environment.\n")
            return 1
        # One after another, last defined first (plugins/commands/halt/command.rb:
        # `with_target_vms(argv, reverse: true)`); a failing machine ends the command.
        for m in reversed(machines):
            if targets and m["name"] not in targets:
                continue
            if not machine_action_lock(key, m["name"]):
                err(f"An action 'halt' was attempted on the machine '{m['name']}',\nbut another process is already executing an action on the machine.\n"
                    "Vagrant locks each machine for access by only one process at a time.\n")
                return 1
            if env_state.get(m["name"], {}).get("state") == "running":
                out(f"==> {m['name']}: Attempting graceful shutdown of VM...\n")
                time.sleep(delay("halt", m["name"]))
                if should_fail("halt") or should_fail(f"halt:{m['name']}"):
                    err(f"An error occurred while halting {m['name']} (stand-in failure injected).\n")
                    return 1
                with locked_state():
                    state = load("vagrant.json", {})
                    state[key][m["name"]]["state"] = "stopped" if m["provider"] == "tart" else "shutoff"
                    save("vagrant.json", state)
        return 0
    if command == "status":
        ts = int(time.time())
        for m in machines:
            st = env_state.get(m["name"], {}).get("state", "not_created")
            if "--machine-readable" in rest:
                out(f"{ts},{m['name']},metadata,provider,{m['provider']}\n{ts},{m['name']},provider-name,{m['provider']}\n"
                    f"{ts},{m['name']},state,{st}\n{ts},{m['name']},state-human-short,{st.replace('_', ' ')}\n"
                    f"{ts},{m['name']},state-human-long,The machine is {st.replace('_', ' ')}.\n")
            else:
                out(f"{m['name']:<25} {st.replace('_', ' ')} ({m['provider']})\n")
        if "--machine-readable" in rest:
            out(f"{ts},,ui,info,Current machine states:\n")
        return 0
    if command == "destroy":
        if "-f" not in rest and "--force" not in rest:
            err("Vagrant is attempting to interface with the UI in a way that requires\na TTY.\n")
            return 1
        if should_fail("destroy"):
            if "vagrant-ruby-exception" in faults():
                # What Vagrant prints when a plugin raises something that is not a Vagrant error:
                # Ruby's default handler, the message on the first line, then the backtrace.
                err("/usr/share/rubygems-integration/all/gems/fog-libvirt-0.8.0/lib/fog/libvirt/requests/compute/vm_action.rb:7:"
                    "in `undefine': Call to virDomainUndefineFlags failed: Requested operation is not valid: "
                    "cannot undefine domain with 1 snapshots (Libvirt::Error)\n")
                for depth in range(24):
                    err(f"\tfrom /usr/share/rubygems-integration/all/gems/vagrant-2.3.4/lib/vagrant/action/builder.rb:{100 + depth}:in `call'\n")
                return 1
            err("An error occurred while destroying (stand-in failure injected).\n")
            return 1
        targets = [a for a in rest if not a.startswith("-")]
        unknown = set(targets) - {m["name"] for m in machines}
        if unknown:
            err(f"The machine with the name '{sorted(unknown)[0]}' was not found configured for\nthis Vagrant environment.\n")
            return 1
        tart_vms = load("tart.json", {})
        for m in machines:
            if targets and m["name"] not in targets:
                continue
            if env_state.get(m["name"], {}).get("state", "not_created") == "not_created":
                out(f"==> {m['name']}: VM not created. Moving on...\n")
            else:
                out(f"==> {m['name']}: Destroying VM and associated drives...\n")
                env_state[m["name"]] = {"state": "not_created"}
                shutil.rmtree(os.path.join(directory, ".vagrant", "machines", m["name"]), ignore_errors=True)
                if m["tart_name"]:
                    tart_vms.pop(m["tart_name"], None)
                    shutil.rmtree(os.path.dirname(tart_config(m["tart_name"])), ignore_errors=True)
                if m["provider"] == "libvirt":
                    domains = load("virsh.json", {})
                    domains.pop(m["domain"], None)
                    save("virsh.json", domains)
                    save("volumes.json", {k: v for k, v in load("volumes.json", {}).items() if v.get("domain") != m["domain"]})
        save("vagrant.json", state)
        save("tart.json", tart_vms)
        return 0
    if command == "ssh-config":
        # plugins/commands/ssh_config: one Host block per machine; HostName from the provider.
        targets = [a for a in rest if not a.startswith("-")]
        for m in machines:
            if targets and m["name"] not in targets:
                continue
            running = env_state.get(m["name"], {})
            if running.get("state") != "running":
                err(f"The provider for this Vagrant-managed machine is reporting that it\nis not yet ready for SSH. Depending on your provider this can carry\n"
                    f"different meanings. Make sure your machine is created and running and\ntry again. ({m['name']})\n")
                return 1
            out(f"Host {m['name']}\n  HostName {running['ip']}\n  User admin\n  Port 22\n  UserKnownHostsFile /dev/null\n"
                f"  StrictHostKeyChecking no\n  PasswordAuthentication no\n  IdentityFile {directory}/.vagrant/machines/{m['name']}/{m['provider']}/private_key\n"
                f"  IdentitiesOnly yes\n  LogLevel FATAL\n\n")
        return 0
    if command in ("provision", "validate", "reload"):
        return 0
    err(f"Vagrant stand-in: unsupported command `{command}`\n")
    return 1


def running_nodes():
    """ip -> name of every running machine, over all Vagrant environments."""
    nodes = {}
    for env_state in load("vagrant.json", {}).values():
        for name, m in env_state.items():
            if m.get("state") == "running" and m.get("ip"):
                nodes[m["ip"]] = name
    return nodes


# ------------------------------------------------------------------------------------------- tart

def tart_version():
    return macos_scenario().get("tart_version") or os.environ.get("K0SLUA_STANDIN_TART_VERSION") or "2.32.1"


def remote_name(image):
    """Tart RemoteName: a reference without a tag or digest means :latest."""
    last = image.rsplit("/", 1)[-1]
    return image if (":" in last or "@" in last) else image + ":latest"


def tart_images():
    """The OCI images in Tart's local store (~/.tart/cache/OCIs): pulled ones and the scenario's."""
    return sorted(set(load("tart-images.json", [])) | {remote_name(i) for i in macos_scenario().get("tart_images", [])})


def tart_pull(image):
    """Tart's pull always asks the registry (Commands/Pull.swift), so offline it fails."""
    time.sleep(delay("pull"))
    if should_fail("pull"):
        err(f"Error: failed to pull {image}: stand-in failure injected\n")
        return 1
    if os.environ.get("K0SLUA_STANDIN_OFFLINE"):
        err("Error: The Internet connection appears to be offline.\n")
        return 1
    out(f"pulling {remote_name(image)}...\n")
    save("tart-images.json", sorted(set(load("tart-images.json", [])) | {remote_name(image)}))
    return 0


def asleep(machine):
    """Fault slept:NAME: the Mac slept past softnet's lease, so softnet drops the VM's frames until
    its guest renews DHCP (`tart exec … networkctl renew`, recorded in renewed.json)."""
    return f"slept:{machine}" in faults() and machine not in load("renewed.json", [])


def tart_exec(args):
    """`tart exec NAME COMMAND…` through the guest agent (Tart Commands/Exec.swift): the VM must run;
    fault no-guest-agent:MACHINE fails as Tart does without the agent."""
    name, command = args[0], args[1:]
    owner = load("tart.json", {}).get(name)
    machine = load("vagrant.json", {}).get((owner or {}).get("dir"), {}).get((owner or {}).get("machine"), {})
    if owner is None:
        err(f"Error: the specified VM \"{name}\" does not exist\n")
        return 1
    if machine.get("state") != "running":
        err(f"Error: VM \"{name}\" is not running\n")
        return 1
    if f"no-guest-agent:{owner['machine']}" in faults():
        err("Error: Failed to connect to the VM using its control socket: connection refused, is the Tart Guest Agent running?\n")
        return 1
    if command == ["ip", "-o", "-4", "route", "show", "default"]:
        out(f"default via 192.168.64.1 dev enp0s1 proto dhcp src {machine.get('ip')} metric 100\n")
        return 0
    if command == ["sudo", "networkctl", "renew", "enp0s1"]:
        save("renewed.json", sorted(set(load("renewed.json", [])) | {owner["machine"]}))
        return 0
    err(f"stand-in: tart exec knows no command {' '.join(command)}\n")
    return 1


def tart_config(name):
    """A VM's config.json in Tart's home (TART_HOME, else ~/.tart; Tart Config.swift, VMDirectory)."""
    home = os.environ.get("TART_HOME") or os.path.join(os.environ.get("HOME", "/tmp"), ".tart")
    return os.path.join(home, "vms", name, "config.json")


def write_tart_config(name, mac):
    os.makedirs(os.path.dirname(tart_config(name)), exist_ok=True)
    with open(tart_config(name), "w") as f:
        json.dump({"version": 1, "os": "linux", "arch": "arm64", "cpuCount": 2, "memorySize": 2147483648, "macAddress": mac}, f)


def random_mac():
    """VZMACAddress.randomLocallyAdministered()."""
    return "%02x:%02x:%02x:%02x:%02x:%02x" % tuple([random.randrange(256) & 0xfe | 0x02] + [random.randrange(256) for _ in range(5)])


def tart(args):
    if args[:1] == ["--version"]:
        out(tart_version() + "\n")
        return 0
    if args[:1] == ["pull"] and len(args) == 2:
        return tart_pull(args[1])
    vms = load("tart.json", {})
    if args[:1] == ["list"]:
        # VMs of the forced-macOS scenario (leftovers) and the ones this world's vagrant-tart made.
        listed = {vm["Name"]: vm.get("State", "stopped") for vm in macos_scenario().get("tart_vms", [])}
        listed.update({name: "stopped" if vm.get("clone_of") else "running" for name, vm in vms.items()})
        # Tart Commands/List.swift: local VMs sorted by name, then OCI images sorted by name.
        rows = [("local", name, state) for name, state in sorted(listed.items())] + [("OCI", name, "stopped") for name in tart_images()]
        if args[1:3] == ["--format", "json"]:
            out(json.dumps([{"Source": source, "Name": name, "Disk": 20, "Size": 5, "Accessed": "2026-11-25T04:00:00Z",
                             "Running": state == "running", "State": state}
                            for source, name, state in rows], indent=2) + "\n")
            return 0
        out("Source Name Disk Size Accessed State\n")
        for source, name, state in rows:
            out(f"{source:<6} {name} 20 5 2 days ago {state}\n")
        return 0
    if args[:1] == ["exec"] and len(args) >= 3:
        return tart_exec(args[1:])
    if args[:1] == ["ip"] and len(args) == 2:
        # The VM's DHCP lease while it runs (Tart Commands/IP.swift reads the leases file).
        owner = vms.get(args[1], {})
        machine = load("vagrant.json", {}).get(owner.get("dir"), {}).get(owner.get("machine"), {})
        if machine.get("state") != "running" or not machine.get("ip"):
            err("Error: no IP address found, is your VM running?\n")
            return 1
        out(machine["ip"] + "\n")
        return 0
    if args[:1] == ["clone"] and len(args) == 3:
        # Tart Commands/Clone.swift: the new VM gets a new random MAC whenever a local VM has the
        # source's MAC (the local source itself does); an existing name is an error.
        source, target = args[1], args[2]
        if source not in vms:
            err(f"Error: the specified VM \"{source}\" does not exist\n")
            return 1
        if target in vms:
            err(f"Error: the specified VM \"{target}\" already exists\n")
            return 1
        if should_fail("clone"):
            err("Error: Error Domain=NSCocoaErrorDomain Code=640 \"You can't save the file because the volume is out of space.\"\n")
            return 1
        vms[target] = {"dir": None, "machine": None, "clone_of": source}
        save("tart.json", vms)
        write_tart_config(target, random_mac())
        return 0
    if args[:1] in (["stop"], ["delete"]) and len(args) == 2:
        if args[0] == "delete" and args[1] in tart_images():
            save("tart-images.json", [i for i in load("tart-images.json", []) if i != args[1]])
            return 0
        if args[1] not in vms:
            err(f"Error: the specified VM \"{args[1]}\" does not exist\n")
            return 1
        if args[0] == "delete":
            vms.pop(args[1])
            save("tart.json", vms)
            shutil.rmtree(os.path.dirname(tart_config(args[1])), ignore_errors=True)
        return 0
    err(f"Error: unknown tart command {' '.join(args)}\n")
    return 1


def softnet(args):
    """softnet has no --version; its clap --help names --block from 0.16.0 on (softnet src/main.rs)."""
    if args != ["--help"]:
        err("error: the following required arguments were not provided:\n  --vm-fd <VM_FD>\n  --vm-mac-address <VM_MAC_ADDRESS>\n")
        return 2
    version = tuple(int(x) for x in macos_scenario().get("softnet_version", "0.19.0").split("."))
    out("Usage: softnet [OPTIONS] --vm-fd <VM_FD> --vm-mac-address <VM_MAC_ADDRESS>\n\nOptions:\n"
        "      --vm-fd <VM_FD>  FD number to use for communicating with the VM's networking stack\n"
        "      --vm-mac-address <VM_MAC_ADDRESS>  MAC address to enforce for the VM\n"
        "      --allow <comma-separated CIDRs or @-alias>  Comma-separated list of CIDRs to allow the traffic to\n")
    if version >= (0, 16, 0):
        out("      --block <comma-separated CIDRs or @-alias>  Comma-separated list of CIDRs to block the traffic to\n")
    out("      --expose <comma-separated port specifications>  comma-separated list of TCP ports to expose\n"
        "  -h, --help  Print help\n")
    return 0


# ------------------------------------------------------------ macOS: sw_vers, defaults, ifconfig, stat, sudo
# The host answers come from the JSON file named by $K0SLUA_STANDIN_MACOS (see README.md).

def macos_scenario():
    path = os.environ.get("K0SLUA_STANDIN_MACOS")
    if not path:
        return {}
    with open(path) as f:
        return json.load(f)


def passthrough(path, args):
    """Arguments that are not the macOS shape go to the real Linux tool."""
    if not os.path.exists(path):
        err(f"{TOOL}: {path} is not installed\n")
        sys.exit(127)
    os.execv(path, [path] + args)


def route(args):
    """`route -n get ADDRESS` in the macOS shape: the interface from the scenario's `routes`, else
    bridge100 when the scenario has it (vmnet's bridge), else en0."""
    if len(args) != 3 or args[:2] != ["-n", "get"]:
        passthrough("/usr/sbin/route", args)
    scenario = macos_scenario()
    interface = scenario.get("routes", {}).get(args[2]) or ("bridge100" if "bridge100" in scenario.get("interfaces", {}) else "en0")
    out(f"   route to: {args[2]}\ndestination: {args[2]}\n  interface: {interface}\n      flags: <UP,HOST,DONE,LLINFO,WASCLONED,IFSCOPE,IFREF>\n"
        " recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire\n"
        "       0         0         0         0         0         0      1500      1196\n")
    return 0


def sw_vers(args):
    version = macos_scenario().get("product_version", "15.5")
    if args == ["-productVersion"]:
        out(version + "\n")
        return 0
    if not args:
        out(f"ProductName:\t\tmacOS\nProductVersion:\t\t{version}\nBuildVersion:\t\t24F74\n")
        return 0
    err(f"sw_vers: unrecognized option `{args[0]}'\n")
    return 1


def defaults(args):
    # defaults read DOMAIN KEY: the value, or exit 1 when the pair is unset (macOS defaults(1))
    if len(args) == 3 and args[0] == "read":
        value = macos_scenario().get("defaults", {}).get(args[1], {}).get(args[2])
        if value is None:
            err(f"\n{time.strftime('%Y-%m-%d %H:%M:%S')}.000 defaults[{os.getpid()}:1] \n"
                f"The domain/default pair of ({args[1]}, {args[2]}) does not exist\n")
            return 1
        out(f"{value}\n")
        return 0
    err("Command line interface to a user's defaults.\n")
    return 255


def ifconfig(args):
    if len(args) != 1 or args[0].startswith("-"):
        passthrough("/usr/sbin/ifconfig", args)
    interface = macos_scenario().get("interfaces", {}).get(args[0])
    if interface is None:
        err(f"ifconfig: interface {args[0]} does not exist\n")
        return 1
    flags = interface.get("flags", "UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST")
    text = f"{args[0]}: flags=8863<{flags}> mtu 1500\n\toptions=6460<TSO4,TSO6,CHANNEL_IO>\n\tether 3c:22:fb:00:00:01\n"
    if interface.get("inet"):
        mask = interface.get("netmask", "0xffffff00")
        text += f"\tinet {interface['inet']} netmask {mask} broadcast {interface.get('broadcast', '0.0.0.0')}\n"
    text += f"\tmedia: autoselect\n\tstatus: {interface.get('status', 'active')}\n"
    out(text)
    return 0


def stat(args):
    # BSD stat: stat -L -f FORMAT FILE with %Su (owner name) and %Sp (mode string)
    if len(args) != 4 or args[:2] != ["-L", "-f"]:
        passthrough("/usr/bin/stat", args)
    entry = macos_scenario().get("files", {}).get(args[3])
    if entry is None:
        err(f"stat: {args[3]}: stat: No such file or directory\n")
        return 1
    out(args[2].replace("%Su", entry.get("owner", "admin")).replace("%Sp", entry.get("mode", "-rwxr-xr-x")) + "\n")
    return 0


def cat(args):
    """`cat /etc/bootptab`: the scenario's `bootptab` text; without one, macOS's missing file."""
    text = macos_scenario().get("bootptab")
    if args != ["/etc/bootptab"] or text is None:
        err(f"cat: {' '.join(args)}: No such file or directory\n")
        return 1
    out(text)
    return 0


def sudo(args):
    if args[:1] != ["--non-interactive"]:
        passthrough("/usr/bin/sudo", args)
    if args[1:2] and args[1] in macos_scenario().get("passwordless_sudo", []):
        return 0
    err("sudo: a password is required\n")
    return 1


# ------------------------------------------------------------------------------------------ virsh

def vagrant_machine_of_domain(domain):
    """(environment, machine) whose `.vagrant/machines/<machine>/libvirt/id` names the domain, as
    vagrant-libvirt finds a machine's domain; None when no environment has it."""
    for key in load("vagrant.json", {}):
        machines = os.path.join(key, ".vagrant", "machines")
        for machine in (sorted(os.listdir(machines)) if os.path.isdir(machines) else []):
            path = os.path.join(machines, machine, "libvirt", "id")
            if os.path.exists(path) and open(path).read().strip() == domain:
                return key, machine
    return None


def vagrant_follows_domain(domain, libvirt_state):
    """vagrant-libvirt reads a machine's state from libvirt: `vagrant status` says what virsh did."""
    owner = vagrant_machine_of_domain(domain)
    state = load("vagrant.json", {})
    entry = state.get(owner[0], {}).get(owner[1]) if owner else None
    if entry and entry.get("state") not in (None, "not_created"):
        entry["state"] = {"shut off": "shutoff"}.get(libvirt_state, libvirt_state)
        save("vagrant.json", state)


def domain_clock(domain, action):
    """The guest clock of a libvirt machine, kept in its Vagrant entry (so a memory image carries
    it): `{"frozen": guest epoch}` while paused or saved, `{"offset": guest − host seconds}` while it
    runs (none: in step with the host, as after a boot). QEMU stops a paused guest's clock; a
    resumed guest goes on from where it stood, behind the host by the pause."""
    owner = vagrant_machine_of_domain(domain)
    with locked_state():
        state = load("vagrant.json", {})
        entry = state.get(owner[0], {}).get(owner[1]) if owner else None
        if entry is None:
            return
        clock = entry.get("clock") or {}
        if action == "freeze" and "frozen" not in clock:
            entry["clock"] = {"frozen": time.time() + clock.get("offset", 0.0)}
        elif action == "thaw" and "frozen" in clock:
            entry["clock"] = {"offset": clock["frozen"] - time.time()}
        save("vagrant.json", state)


def guest_clock_command(command, host):
    """`date -u +%s.%N` and `sudo date -u -s @EPOCH` / `sudo date -u -s '±S seconds'` (GNU date: a
    relative time moves the clock from the guest's own) on a running machine; None: another command."""
    moved = re.fullmatch(r"sudo date -u -s (?:@(\d+(?:\.\d+)?)|'([+-]\d+(?:\.\d+)?) seconds')", command)
    if command != "date -u +%s.%N" and not moved:
        return None
    # Locked: the fan-out moves several guests' clocks at once, each a read-modify-write of vagrant.json.
    with locked_state():
        state = load("vagrant.json", {})
        entry = next((m for machines in state.values() for m in machines.values() if m.get("state") == "running" and m.get("ip") == host), None)
        offset = (entry or {}).get("clock", {}).get("offset", 0.0)
        if not moved:
            out(f"{time.time() + offset:.9f}\n")
            return 0
        if entry is not None:
            entry["clock"] = {"offset": float(moved.group(1)) - time.time() if moved.group(1) else offset + float(moved.group(2))}
            save("vagrant.json", state)
    out(time.strftime("%a %b %d %H:%M:%S UTC %Y\n", time.gmtime()))
    return 0


def virsh(args):
    """libvirt on the host (shared by every Vagrant environment): domains (virsh.json: name ->
    state), their UUIDs (domain-uuids.json) and the `default` pool's volumes (volumes.json: name ->
    {domain, content}; vagrant-libvirt's `<domain>.img` overlay per machine). list, destroy,
    undefine [--remove-all-storage], dumpxml, define, vol-pool, vol-info, vol-download, vol-upload,
    vol-create-as, vol-delete, pool-refresh, suspend, resume, domstate, save DOMAIN FILE (the memory
    image: the domain and its machine's Vagrant state, lease included; the domain is shut off),
    restore [--paused] FILE; `--` ends the options as in virsh."""
    if args[:1] == ["-c"]:
        args = args[2:]
    domains = load("virsh.json", {})
    volumes = load("volumes.json", {})
    command = args[0] if args else ""
    positional = [a for a in args[1:] if not a.startswith("--")]
    for option in ("--pool", "--format"):
        if option in args[1:]:
            positional.remove(args[args.index(option) + 1])
    pool_dir = "/var/lib/libvirt/images"
    time.sleep(delay(command))
    if should_fail(command) or (positional and should_fail(f"{command}:{positional[0]}")):
        err(f"error: cannot {command}\nerror: No space left on device\n")
        return 1
    if command == "list":
        names = sorted(domains) if "--all" in args else sorted(n for n, st in domains.items() if st == "running")
        out("".join(n + "\n" for n in names) + "\n")
        return 0
    if command in ("destroy", "undefine", "dumpxml", "suspend", "resume", "domstate", "save") and positional:
        name = positional[0]
        if name not in domains:
            err(f"error: failed to get domain '{name}'\n")
            return 1
        if command == "domstate":
            out(f"{domains[name]}\n\n")
            return 0
        if command in ("suspend", "resume"):
            wanted, becomes = ("running", "paused") if command == "suspend" else ("paused", "running")
            if domains[name] != wanted:
                err(f"error: Failed to {command} domain '{name}'\nerror: Requested operation is not valid: domain is not {wanted}\n")
                return 1
            domains[name] = becomes
            save("virsh.json", domains)
            domain_clock(name, "freeze" if command == "suspend" else "thaw")
            vagrant_follows_domain(name, becomes)
            out(f"Domain '{name}' {'suspended' if command == 'suspend' else 'resumed'}\n\n")
            return 0
        if command == "save":
            # The memory image: here the domain's name and its machine as Vagrant knew it (its lease).
            if domains[name] not in ("running", "paused"):
                err(f"error: Failed to save domain '{name}' to {positional[1]}\nerror: Requested operation is not valid: domain is not running\n")
                return 1
            domain_clock(name, "freeze")
            owner = vagrant_machine_of_domain(name)
            with open(positional[1], "w") as f:
                json.dump({"domain": name, "vagrant": owner and [owner[0], owner[1], load("vagrant.json", {}).get(owner[0], {}).get(owner[1], {})]}, f)
            domains[name] = "shut off"
            save("virsh.json", domains)
            vagrant_follows_domain(name, "shut off")
            out(f"\nDomain '{name}' saved to {positional[1]}\n\n")
            return 0
        if command == "dumpxml":
            uuids = load("domain-uuids.json", {})
            uuid = uuids.setdefault(name, hashlib.md5(name.encode()).hexdigest())
            save("domain-uuids.json", uuids)
            disks = "".join(f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{pool_dir}/{v}'/>"
                            f"<target dev='vda' bus='virtio'/></disk>" for v, info in sorted(volumes.items()) if info.get("domain") == name)
            out(f"<domain type='kvm'>\n  <name>{name}</name>\n  <uuid>{uuid}</uuid>\n  <devices>\n    {disks}\n"
                f"    <disk type='file' device='cdrom'><source file='/tmp/seed.iso'/></disk>\n  </devices>\n</domain>\n")
            return 0
        if command == "destroy":
            if domains[name] not in ("running", "paused"):
                err(f"error: Failed to destroy domain '{name}'\nerror: Requested operation is not valid: domain is not running\n")
                return 1
            domains[name] = "shut off"
            vagrant_follows_domain(name, "shut off")
        else:
            domains.pop(name)
            if "--remove-all-storage" in args:
                save("volumes.json", {k: v for k, v in volumes.items() if v.get("domain") != name})
        save("virsh.json", domains)
        out(f"Domain '{name}' {'destroyed' if command == 'destroy' else 'has been undefined'}\n")
        return 0
    if command == "define" and positional:
        text = open(positional[0]).read()
        name = re.search(r"<name>([^<]+)</name>", text).group(1)
        domains[name] = "shut off"
        save("virsh.json", domains)
        for path in re.findall(r"<disk type='file' device='disk'>.*?<source file='([^']+)'", text):
            if os.path.basename(path) in volumes:
                volumes[os.path.basename(path)]["domain"] = name
        save("volumes.json", volumes)
        out(f"Domain '{name}' defined from {positional[0]}\n")
        return 0
    if command in ("vol-pool", "vol-info", "vol-download", "vol-upload", "vol-delete") and positional:
        volume = os.path.basename(positional[0])
        if volume not in volumes:
            err(f"error: failed to get vol '{positional[0]}'\nerror: Storage volume not found: no storage vol with matching path '{positional[0]}'\n")
            return 1
        if command == "vol-pool":
            out("default\n\n")
        elif command == "vol-info":
            out(f"Name:           {volume}\nType:           file\nCapacity:       21474836480 bytes\nAllocation:     1048576 bytes\n\n")
        elif command == "vol-download":
            with open(positional[1], "w") as f:
                f.write(volumes[volume]["content"])
        elif command == "vol-upload":
            volumes[volume]["content"] = open(positional[1]).read()
        else:
            volumes.pop(volume)
        save("volumes.json", volumes)
        return 0
    if command == "vol-create-as" and len(positional) >= 3:
        if positional[1] in volumes:
            err(f"error: Failed to create vol {positional[1]}\nerror: storage volume name '{positional[1]}' already in use.\n")
            return 1
        volumes[positional[1]] = {"domain": None, "content": ""}
        save("volumes.json", volumes)
        out(f"Vol {positional[1]} created\n")
        return 0
    if command == "restore" and positional:
        # A saved domain comes back as it was saved (paused with --paused), its guest with the lease it had.
        image = json.load(open(positional[0]))
        name = image["domain"]
        if domains.get(name) in ("running", "paused"):
            err(f"error: Failed to restore domain from {positional[0]}\nerror: operation failed: domain '{name}' is already active\n")
            return 1
        domains[name] = "paused" if "--paused" in args else "running"
        save("virsh.json", domains)
        if image.get("vagrant"):
            key, machine, entry = image["vagrant"]
            state = load("vagrant.json", {})
            state.setdefault(key, {})[machine] = dict(entry, state=domains[name])
            save("vagrant.json", state)
            if "--paused" not in args:
                domain_clock(name, "thaw")
        out(f"Domain restored from {positional[0]}\n\n")
        return 0
    if command == "pool-refresh":
        out(f"Pool {positional[0] if positional else 'default'} refreshed\n")
        return 0
    err(f"error: unknown command: '{command}'\n")
    return 1


# ----------------------------------------------------------------------------------------- k0sctl

def k0sctl_log(message):
    out(f'time="2026-11-25T04:00:00Z" level=info msg="{message}"\n')


def read_cluster_yaml(path):
    import yaml  # PyYAML; .ci/run installs it
    text = open(path).read()
    text = re.sub(r"\$\$", "$", text)
    return yaml.safe_load(text)


HOST_KEYS = {"role", "noTaints", "ssh", "openSSH", "winRM", "localhost", "privateAddress", "privateInterface", "installFlags",
             "environment", "files", "hooks", "uploadBinary", "useExistingK0s", "k0sBinaryPath", "k0sInstallPath",
             "k0sDownloadURL", "hostname", "dataDir", "kubeletRootDir", "os", "reset"}


def k0s_version_key(text):
    """v1.34.2-rc.1+k0s.0 as a sortable tuple: segments, release after pre-release, pre-release, k0s number."""
    body = text[1:] if text.startswith("v") else text
    body, _, build = body.partition("+")
    core, _, pre = body.partition("-")
    k0s = int(build.split(".")[1]) if build.startswith("k0s.") else -1
    return tuple(int(x) for x in core.split(".")), pre == "", pre, k0s


def sha256_of(path):
    with open(path, "rb") as data:
        return hashlib.sha256(data.read()).hexdigest()


def k0sctl(args):
    if args[:1] == ["version"]:
        out("version: v0.32.2\ncommit: f4005b6\n")
        return 0
    if not args or args[0] not in ("apply", "kubeconfig", "reset"):
        err(f"Incorrect Usage: unknown command {args[:1]}\n")
        return 1
    command, rest = args[0], args[1:]
    config, address, force, cluster_name, user_name = "k0sctl.yaml", None, False, None, None
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("--config", "-c"):
            config = rest[i + 1]
            i += 2
            continue
        if a in ("--address", "--kubeconfig-out", "--concurrency", "--timeout", "--kubeconfig-api-address",
                 "--cluster", "-n", "--user", "-u"):
            if a in ("--address", "--kubeconfig-api-address"):
                address = rest[i + 1]
            elif a in ("--cluster", "-n"):
                cluster_name = rest[i + 1]
            elif a in ("--user", "-u"):
                user_name = rest[i + 1]
            i += 2
            continue
        if a in ("--force",):
            force = True
        elif a in ("--debug", "-d", "--no-wait", "--dry-run", "--trace"):
            pass
        else:
            err(f"Incorrect Usage: flag provided but not defined: {a}\n")
            return 1
        i += 1
    try:
        document = read_cluster_yaml(config)
    except FileNotFoundError:
        out(f'time="2026-11-25T04:00:00Z" level=fatal msg="failed to read config: open {config}: no such file or directory"\n')
        return 1
    hosts = document["spec"]["hosts"]
    name = document.get("metadata", {}).get("name", "k0s-cluster")
    if command == "kubeconfig":
        if should_fail("kubeconfig"):
            out('time="2026-11-25T04:00:00Z" level=fatal msg="failed to connect to 192.168.64.10:22 (stand-in failure injected)"\n')
            return 1
        leader = hosts[0]
        server = address or f"https://{leader['ssh']['address']}:6443"
        cname, uname = cluster_name or name, user_name or "admin"
        out(f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: c3RhbmQtaW4=\n    server: {server}\n  name: {cname}\n"
            f"contexts:\n- context:\n    cluster: {cname}\n    user: {uname}\n  name: {cname}\ncurrent-context: {cname}\nkind: Config\n"
            f"preferences: {{}}\nusers:\n- name: {uname}\n  user:\n    client-certificate-data: c3RhbmQtaW4=\n    client-key-data: c3RhbmQtaW4=\n")
        return 0
    if command == "reset":
        if not force and not sys.stdout.isatty():
            out('time="2026-11-25T04:00:00Z" level=fatal msg="reset requires --force"\n')
            return 1
        save("k0s.json", {})
        return 0
    # apply
    problems = []
    for index, host in enumerate(hosts):
        for key in host:
            if key not in HOST_KEYS:
                problems.append(f"field {key} not found in type cluster.Host")
        if host.get("noTaints") and host.get("role") != "controller+worker":
            problems.append(f"host #{index + 1}: noTaints: noTaints can only be true for controller+worker role")
        # uploadBinary/k0sBinaryPath and files[].src are local paths k0sctl opens before connecting.
        binary = host.get("k0sBinaryPath")
        if binary and not os.path.isfile(binary):
            problems.append(f"host #{index + 1}: k0sBinaryPath: stat {binary}: no such file or directory")
        for upload in host.get("files") or []:
            if not upload.get("dstDir") and not upload.get("dst"):
                problems.append(f"host #{index + 1}: files: dst or dstdir required")
            if upload.get("src") and not os.path.exists(upload["src"]):
                problems.append(f"host #{index + 1}: files: {upload['src']}: no such file or directory")
        key_path = os.path.expanduser(host["ssh"].get("keyPath", "~/.ssh/id_rsa"))
        if not os.path.exists(key_path):
            problems.append(f"host #{index + 1}: ssh key {key_path} not found")
    if problems:
        out(f'time="2026-11-25T04:00:00Z" level=fatal msg="cluster config validation failed: {"; ".join(problems)}"\n')
        return 1
    k0sctl_log("==> Running phase: Set k0s version")
    k0sctl_log("==> Running phase: Connect to hosts")
    running = running_nodes()
    nodes = load("k0s.json", {})
    etcd = load("etcd.json", {})
    # phase/validate_hosts.go: every controller marked reset would break the cluster.
    controllers = [h for h in hosts if h["role"] != "worker"]
    if controllers and all(h.get("reset") for h in controllers):
        out('time="2026-11-25T04:00:00Z" level=fatal msg="apply failed - log file saved to ' + K0SCTL_LOG + ': all controllers are marked to be reset '
            '- this will break the cluster. use `k0sctl reset` instead if that is intentional"\n')
        return 1
    # phase/validate_facts.go: the leader (first controller that runs k0s and is not reset) runs a newer k0s
    # than the configured one (k0sproject/version ordering: segments, pre-release, then the +k0s.N number).
    configured = document["spec"]["k0s"].get("version")
    leader = next((nodes[h["ssh"]["address"]] for h in controllers if not h.get("reset") and h["ssh"]["address"] in nodes), None)
    if configured and leader and k0s_version_key(leader["version"]) > k0s_version_key(configured):
        out(f'time="2026-11-25T04:00:00Z" level=fatal msg="apply failed - log file saved to {K0SCTL_LOG}: '
            f'can\'t perform a downgrade: {leader["version"]} > {configured}"\n')
        return 1
    # phase/validate_etcd_members.go: a new controller whose address etcd still lists (a member that never left).
    for host in controllers:
        private = host.get("privateAddress") or host["ssh"]["address"]
        if not host.get("reset") and host["ssh"]["address"] not in nodes and f"https://{private}:2380" in etcd.values() and "--force" not in rest:
            out(f'time="2026-11-25T04:00:00Z" level=fatal msg="apply failed - log file saved to {K0SCTL_LOG}: controller {host["ssh"]["address"]}:22 '
                f'is listed as an existing etcd member but k0s is not found installed on it, the host may have been replaced. check the host and use '
                f'`k0s etcd leave --peer-address {private} on a controller or re-run apply with --force"\n')
            return 1
    resetting = []
    for host in hosts:
        address = host["ssh"]["address"]
        # Like k0sctl: `hostname` becomes kubelet's --hostname-override on worker roles; without it
        # a node is named after the machine's own hostname (the VM name here, the address on hosts).
        hostname = host.get("hostname") if host.get("hostname") and host["role"].endswith("worker") else running.get(address, address)
        if address not in running and os.path.exists(os.path.join(STATE, "vagrant.json")) and not os.environ.get("K0SLUA_STANDIN_HOSTS"):
            out(f'time="2026-11-25T04:00:00Z" level=error msg="[ssh] {address}:22: dial tcp {address}:22: connect: connection refused"\n')
            out(f'time="2026-11-25T04:00:00Z" level=fatal msg="apply failed - log file saved to {K0SCTL_LOG}: failed on 1 hosts:\\n - [ssh] {address}:22: connection refused"\n')
            return 1
        k0sctl_log(f"[ssh] {address}:22: connected")
        if host.get("reset"):
            # Reset workers / Reset controllers run after the installs (action/apply.go).
            resetting.append(host)
            continue
        nodes[address] = {"hostname": hostname, "role": host["role"], "noTaints": bool(host.get("noTaints")),
                          "privateAddress": host.get("privateAddress") or address,
                          "installFlags": host.get("installFlags", []), "version": document["spec"]["k0s"].get("version", "v1.34.2+k0s.0"),
                          # What reached the node: the uploaded binary's SHA-256 (else it downloads k0s itself) and uploaded files.
                          "k0sBinary": sha256_of(host["k0sBinaryPath"]) if host.get("uploadBinary") and host.get("k0sBinaryPath") else "downloaded",
                          "files": [os.path.join(f.get("dstDir", ""), os.path.basename(f["src"])) for f in host.get("files") or [] if f.get("src")]}
    for phase in ("Detect host operating systems", "Prepare hosts", "Gather host facts", "Validate hosts", "Configure k0s",
                  "Initialize the k0s cluster", "Install controllers", "Install workers"):
        k0sctl_log(f"==> Running phase: {phase}")
    time.sleep(delay("apply"))
    if should_fail("apply"):
        out(f'time="2026-11-25T04:00:00Z" level=fatal msg="apply failed - log file saved to {K0SCTL_LOG}: '
            'failed on 1 hosts:\\n - [ssh] 192.168.64.20:22: k0s worker failed to start (stand-in failure injected)"\n')
        return 1
    for host in hosts:
        private = host.get("privateAddress") or host["ssh"]["address"]
        if host["role"] != "worker" and not host.get("reset") and host["ssh"]["address"] in nodes:
            # k0s runs etcd on every controller; its member name is the OS hostname (the machine's name here).
            etcd[running.get(host["ssh"]["address"], host["ssh"]["address"])] = f"https://{private}:2380"
    for host in resetting:
        address = host["ssh"]["address"]
        private = host.get("privateAddress") or address
        if host["role"] == "worker":
            # phase/reset_workers.go: drain, delete the Node, k0s reset on the host.
            k0sctl_log(f"{address}: resetting worker")
        else:
            # phase/reset_controllers.go: drain and delete the Node (not for a pure controller), stop k0s, then
            # `k0s etcd leave --peer-address <privateAddress>` on the host itself: with k0s stopped its etcd client
            # (https://127.0.0.1:2379) has nothing to talk to, and k0sctl only warns; then `k0s reset`.
            k0sctl_log(f"{address}: resetting controller")
            url = f"https://{private}:2380"
            if url in etcd.values():
                out(f'time="2026-11-25T04:00:00Z" level=warning msg="{address}:22: failed to leave etcd: command failed: '
                    f'k0s etcd leave --peer-address {private}: dial tcp 127.0.0.1:2379: connect: connection refused"\n')
            record({"event": f"k0sctl-reset-controller {host['role']} {private}"})
        nodes.pop(address, None)
        k0sctl_log(f"{address}:22: reset")
    if resetting:
        k0sctl_log("There were nodes that got uninstalled during the apply phase. Please remove them from your k0sctl config file")
    save("etcd.json", etcd)
    save("k0s.json", nodes)
    network = ((document["spec"]["k0s"].get("config") or {}).get("spec") or {}).get("network") or {}
    instances = ((network.get("controlPlaneLoadBalancing") or {}).get("keepalived") or {}).get("vrrpInstances") or []
    save("vip.json", {"vip": instances[0]["virtualIPs"][0].split("/")[0] if instances else None,
                      "holder": hosts[0]["ssh"]["address"]})
    k0sctl_log(f"==> Finished in {delay('apply'):.0f}s")
    k0sctl_log("k0s cluster version v1.34.2+k0s.0 is now installed")
    return 0


# ---------------------------------------------------------------------------------------- kubectl

def flags_of(install_flags, name):
    for flag in install_flags:
        if flag.startswith(f"--{name}="):
            return [item for item in flag.split("=", 1)[1].split(",") if item]
    return []


def node_objects():
    items = []
    bad = faults()
    running = running_nodes()
    machines_known = os.path.exists(os.path.join(STATE, "vagrant.json")) and not os.environ.get("K0SLUA_STANDIN_HOSTS")
    for address, node in sorted(load("k0s.json", {}).items()):
        if node["role"] == "controller" or f"node-missing:{node['hostname']}" in bad:
            continue
        labels = {"beta.kubernetes.io/arch": "arm64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64",
                  "kubernetes.io/hostname": node["hostname"], "kubernetes.io/os": "linux"}
        for label in flags_of(node["installFlags"], "labels"):
            key, _, value = label.partition("=")
            labels[key] = value
        taints = []
        if node["role"] == "controller+worker":
            labels["node.k0sproject.io/role"] = "control-plane"
            labels["node-role.kubernetes.io/control-plane"] = "true"
            if not node["noTaints"]:
                taints.append({"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"})
        for taint in flags_of(node["installFlags"], "taints"):
            pair, _, effect = taint.rpartition(":")
            key, _, value = pair.partition("=")
            entry = {"effect": effect, "key": key}
            if value:
                entry["value"] = value
            taints.append(entry)
        if f"extra-taint:{node['hostname']}" in bad:
            taints.append({"effect": "NoSchedule", "key": "example.com/unexpected"})
        ready = "False" if f"node-notready:{node['hostname']}" in bad else "True"
        if machines_known and address not in running:
            ready = "Unknown"  # the kubelet stopped posting: its machine is halted or gone, the Node stays
        # k0sctl gives the kubelet --node-ip=<privateAddress>.
        ip = "10.0.2.15" if f"node-wrong-ip:{node['hostname']}" in bad else node.get("privateAddress", address)
        spec = {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]}
        if taints:
            spec["taints"] = taints
        items.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node["hostname"], "labels": labels, "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
                         "creationTimestamp": "2026-11-25T04:00:00Z", "resourceVersion": "1", "uid": "00000000-0000-0000-0000-000000000000"},
            "spec": spec,
            "status": {
                "addresses": [{"address": ip, "type": "InternalIP"}, {"address": node["hostname"], "type": "Hostname"}],
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
                    {"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True" else "KubeletNotReady",
                     "message": "kubelet is posting ready status" if ready == "True" else "container runtime network not ready"},
                ],
                "nodeInfo": {"kubeletVersion": "v1.34.2+k0s", "containerRuntimeVersion": "containerd://1.7.28",
                             "operatingSystem": "linux", "architecture": "arm64", "osImage": "Ubuntu 24.04.3 LTS"},
            },
        })
    return items


def pod(name, node, ready=True, restarts=0, waiting=None):
    state = {"running": {"startedAt": "2026-11-25T04:00:00Z"}} if waiting is None else {"waiting": {"reason": waiting, "message": "back-off restarting failed container"}}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system", "labels": {}},
        "spec": {"nodeName": node},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}, {"type": "ContainersReady", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": name.split("-")[0], "ready": ready, "restartCount": restarts, "state": state}],
        },
    }


def api_gone(args):
    """The kubeconfig's server is a machine address where no controller's k0s runs any more (it was
    reset, or its machine is gone): kubectl cannot connect, as the real one cannot."""
    path = args[args.index("--kubeconfig") + 1] if "--kubeconfig" in args else os.environ.get("KUBECONFIG")
    if "--server" in args or not path or not os.path.exists(path) or not os.path.exists(os.path.join(STATE, "vagrant.json")):
        return False
    match = re.search(r"server: https://([0-9.]+):(\d+)", open(path).read())
    if not match:
        return False
    host, nodes = match.group(1), load("k0s.json", {})
    if host == load("vip.json", {}).get("vip") or host not in running_nodes() and host not in nodes:
        # A VIP, or an address no machine of this world ever had: not modelled.
        return False
    if nodes.get(host, {}).get("role", "worker") == "worker":
        err(f"The connection to the server {host}:{match.group(2)} was refused - did you specify the right host or port?\n")
        return True
    return False


def kubectl(args):
    real = "/usr/bin/kubectl"
    if "config" in args and os.path.exists(real):
        # Kubeconfig editing is offline and real: hand it to the real kubectl.
        return subprocess.call([real] + args)
    if args[:1] == ["version"]:
        out("Client Version: v1.34.2\nKustomize Version: v5.7.1\n")
        return 0
    words = []
    i = 0
    while i < len(args):
        if args[i] in ("--kubeconfig", "-n", "--namespace", "-o", "--output", "--server", "-l", "--selector", "--request-timeout"):
            i += 2
            continue
        words.append(args[i])
        i += 1
    if api_gone(args):
        return 1
    if "api-down" in faults() or should_fail("get"):
        err("The connection to the server 192.168.64.10:6443 was refused - did you specify the right host or port?\n")
        return 1
    if words[:2] == ["get", "--raw"] or (words[:1] == ["get"] and any(a.startswith("--raw") for a in args)):
        if "--server" in args:
            vip = load("vip.json", {}).get("vip")
            server = args[args.index("--server") + 1]
            if vip is None or server != f"https://{vip}:6443" or "vip-missing" in faults():
                err(f"Unable to connect to the server: dial tcp {server[8:]}: connect: no route to host\n")
                return 1
        out("ok")
        return 0
    if words[:1] in (["get"], ["describe"]) and words[1:2] in (["nodes,pods"], ["events"], ["nodes"], ["clusterconfig"]) \
            and (words[0] == "describe" or words[1] != "nodes"):
        return kubectl_support(args, words)
    if words[:2] == ["get", "services"]:
        # K0SLUA_STANDIN_SERVICES: a file with the `kubectl get services -A -o json` List to answer.
        path = os.environ.get("K0SLUA_STANDIN_SERVICES")
        out(open(path).read() if path else json.dumps({"apiVersion": "v1", "kind": "List", "items": [], "metadata": {"resourceVersion": ""}}) + "\n")
        return 0
    if words[:2] == ["get", "nodes"]:
        out(json.dumps({"apiVersion": "v1", "kind": "List", "items": node_objects(), "metadata": {"resourceVersion": ""}}, indent=4) + "\n")
        return 0
    if words[:2] == ["get", "pods"]:
        nodes = [n["metadata"]["name"] for n in node_objects()]
        crash = "coredns-crashloop" in faults()
        items = [pod("coredns-6c77d6f8b7-abcde", nodes[0] if nodes else "", ready=not crash, restarts=7 if crash else 0,
                     waiting="CrashLoopBackOff" if crash else None),
                 pod("metrics-server-7db8586f5-xyz12", nodes[0] if nodes else "")]
        for n in nodes:
            items += [pod(f"kube-proxy-{n}", n), pod(f"kube-router-{n}", n), pod(f"konnectivity-agent-{n}", n)]
        out(json.dumps({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}, indent=4) + "\n")
        return 0
    if words[:2] == ["delete", "node"]:
        nodes = load("k0s.json", {})
        gone = [address for address, node in nodes.items() if node["hostname"] == words[2]]
        if not gone:
            if "--ignore-not-found" in args:
                return 0
            err(f'Error from server (NotFound): nodes "{words[2]}" not found\n')
            return 1
        for address in gone:
            nodes.pop(address)
        save("k0s.json", nodes)
        out(f'node "{words[2]}" deleted\n')
        return 0
    if words[:1] in (["cordon"], ["drain"], ["uncordon"]):
        if not any(n["metadata"]["name"] == words[1] for n in node_objects()):
            err(f'Error from server (NotFound): nodes "{words[1]}" not found\n')
            return 1
        if words[0] == "drain" and f"undrainable:{words[1]}" in faults() and "--force" not in args:
            err(f"error: unable to drain node \"{words[1]}\" due to error: cannot delete Pods that declare no controller (use --force to override): default/lonely\n")
            return 1
        out(f"node/{words[1]} {dict(cordon='cordoned', drain='drained', uncordon='uncordoned')[words[0]]}\n")
        return 0
    if words[:1] in (["apply"], ["delete"], ["create"], ["label"], ["annotate"], ["wait"], ["rollout"]):
        out(f"{words[0]} ok\n")
        return 0
    err(f"error: unknown command \"{' '.join(words[:2])}\" for \"kubectl\"\n")
    return 1


# -------------------------------------------------------------------------------------------- ssh

def ssh(args):
    options, identity, port, target, remote, login = {}, None, "22", None, [], None
    i = 0
    while i < len(args):
        a = args[i]
        if target is not None:
            remote = args[i + 1:] if a == "--" else args[i:]
            break
        if a == "--":
            # Like OpenSSH: options end here for good; then the destination and the command.
            if i + 1 < len(args):
                target, remote = args[i + 1], args[i + 2:]
            break
        if a in ("-i", "-p", "-o", "-F", "-l"):
            value = args[i + 1]
            if a == "-l":
                login = value
            if a == "-i":
                identity = value
            elif a == "-p":
                port = value
            elif a == "-o":
                key, _, v = value.partition("=")
                options[key] = v
            i += 2
            continue
        if a in ("-t", "-T", "-q", "-n", "-A", "-V"):
            if a == "-V":
                err("OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024\n")
                return 0
            i += 1
            continue
        target = a
        i += 1
    if target is None:
        err("usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] destination [command [argument ...]]\n")
        return 255
    user, _, host = target.rpartition("@")
    user = user or login
    if identity and not os.path.exists(identity):
        err(f"Warning: Identity file {identity} not accessible: No such file or directory.\n")
    nodes = running_nodes()
    hosts_mode = bool(os.environ.get("K0SLUA_STANDIN_HOSTS"))
    name = nodes.get(host) or (host if hosts_mode else None)
    if name is None or f"unreachable:{name}" in faults():
        err(f"ssh: connect to host {host} port {port}: Connection refused\n")
        return 255
    if asleep(name):
        err(f"ssh: connect to host {host} port {port}: Operation timed out\n")
        return 255
    command = " ".join(remote)
    # A fixed time per connection (benchmarks of the fan-out): K0SLUA_STANDIN_DELAY=ssh:call=SECONDS.
    time.sleep(delay("call"))
    if should_fail("hook") and "ping -c 1" not in command and " k0slua-hosts" not in command and command not in ("hostname", "true", "sudo -n true", "uname -m"):
        err("stand-in: hook command failed\n")
        return 1
    if command.endswith(" k0slua-hosts"):
        # The /etc/hosts block arrives on stdin (GuestProvisioning.hostsScript): kept per node.
        os.makedirs(os.path.join(STATE, "hosts"), exist_ok=True)
        with open(os.path.join(STATE, "hosts", name), "w") as f:
            f.write(sys.stdin.read())
        return 0
    if "ping -c 1" in command:
        partitions = [f[len("partition:"):].split("/", 1) for f in faults() if f.startswith("partition:")]
        by_name = {v: k for k, v in nodes.items()}
        # The probe reads its addresses on stdin, one a line (ReachabilityProbe.swift).
        addresses = [a for a in sys.stdin.read().split() if re.fullmatch(r"[0-9.]+", a)]
        if f"probe-silent:{name}" in faults():
            return 0
        if f"probe-partial:{name}" in faults():
            addresses = addresses[:1]
        for ip in addresses:
            other = nodes.get(ip, ip)
            cut = any({name, other} == set(p) for p in partitions) or asleep(other)
            out(f"{'unreachable' if cut or (ip not in nodes and not hosts_mode) else 'ok'} {ip}\n")
        return 0
    if f"hang:{name}" in faults():
        time.sleep(3600)  # a node that accepts the connection and never answers
        return 255
    slow = re.fullmatch(r"sleep ([0-9]+(?:\.[0-9]+)?)(?: #.*)?", command)
    if slow:
        time.sleep(float(slow.group(1)))  # the node runs it, as its shell would (a comment names it)
        return 0
    answered = ssh_images(command, host, name)
    if answered is not None:
        return answered
    answered = ssh_load_balancer(command, name)
    if answered is not None:
        return answered
    answered = ssh_support(command, host, name)
    if answered is not None:
        return answered
    answered = guest_clock_command(command, host)
    if answered is not None:
        return answered
    if command == "hostname":
        out(f"{name}\n")
        return 0
    if command == "uname -m":
        # K0SLUA_STANDIN_ARCH: ADDRESS=MACHINE,… (what `uname -m` prints there); x86_64 otherwise.
        machines = dict(item.split("=", 1) for item in listed("K0SLUA_STANDIN_ARCH") if "=" in item)
        out(f"{machines.get(host, machines.get(name, 'x86_64'))}\n")
        return 0
    if command.startswith("ip -o -4 addr show"):
        out(f"1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
            f"2: eth0    inet {host}/24 brd 192.168.64.255 scope global eth0\\       valid_lft forever preferred_lft forever\n")
        vip = load("vip.json", {})
        if vip.get("vip") and vip.get("holder") == host and "vip-missing" not in faults():
            out(f"2: eth0    inet {vip['vip']}/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever\n")
        return 0
    if command.startswith("sudo k0s etcd "):
        # cmd/etcd/list.go, leave.go: through this controller's own etcd (https://127.0.0.1:2379).
        node = load("k0s.json", {}).get(host)
        if node is None or node["role"] == "worker" or f"k0s-down:{name}" in faults():
            err("Error: can't list etcd cluster members: etcd member list failed: context deadline exceeded\n")
            return 1
        etcd = load("etcd.json", {})
        words = command.split()
        if words[3:4] == ["member-list"] and len(words) == 4:
            out(json.dumps({"members": etcd}, separators=(",", ":")) + "\n")
            return 0
        if words[3:5] == ["leave", "--peer-address"] and len(words) == 6:
            url = f"https://{words[5]}:2380"
            member = next((n for n, u in etcd.items() if u == url), None)
            if member is None:
                err(f'time="2026-11-25T04:00:00Z" level=error msg="Failed to get peer name" peerURL="{url}"\nError: peer not found: {url}\n')
                return 1
            etcd.pop(member)
            save("etcd.json", etcd)
            err(f'time="2026-11-25T04:00:00Z" level=info msg="Successfully deleted" peerID=8e9e05c52164694d\n')
            return 0
        err(f"Error: unknown command \"{' '.join(words[3:4])}\" for \"k0s etcd\"\n")
        return 1
    if command.startswith("sudo k0s status"):
        node = load("k0s.json", {}).get(host)
        if node is None or f"k0s-down:{name}" in faults():
            err("Error: failed to get the status of k0s: dial unix /run/k0s/status.sock: connect: no such file or directory\n")
            return 1
        role = "worker" if node["role"] == "worker" else "controller"
        if f"k0s-status-norole:{name}" in faults():
            out(f"Version: {node['version']}\nProcess ID: 1234\n")
            return 0
        out(f"Version: {node['version']}\nProcess ID: 1234\nRole: {role}\nWorkloads: {'true' if node['role'] != 'controller' else 'false'}\n"
            f"SingleNode: false\nKube-api probing successful: true\nKube-api probing last error: \n")
        return 0
    return 0


# ------------------------------------------------------------------ k0slua's LoadBalancer controller

def ssh_load_balancer(command, name):
    """`command -v python3` (fault `no-python:NODE`: not installed) and `sudo sh -s` with the
    installer or the remover of k0slua's LoadBalancer controller on stdin. What reached the node is
    kept in `load-balancer.json` per node: `installed` with the SHA-256 of the program between the
    first heredoc's markers and the unit's ExecStart line, or `removed`. None for other commands."""
    if command == "command -v python3":
        if f"no-python:{name}" in faults():
            return 1
        out("/usr/bin/python3\n")
        return 0
    if command != "sudo sh -s":
        return None
    script = sys.stdin.read()
    with locked_state():  # k0slua installs on every controller at once
        return record_load_balancer(script, name)


def record_load_balancer(script, name):
    state = load("load-balancer.json", {})
    if "systemctl enable k0slua-lb.service" in script:
        if f"no-python:{name}" in faults():
            err("python3 is missing: k0slua's load balancer needs it\n")
            return 3
        program = re.search(r"<<'K0SLUA_LB_EOF'\n(.*?)K0SLUA_LB_EOF\n", script, re.S).group(1)
        execstart = re.search(r"^ExecStart=(.*)$", script, re.M).group(1)
        state[name] = {"state": "installed", "program_sha256": hashlib.sha256(program.encode()).hexdigest(), "exec_start": execstart}
    elif "systemctl disable --now k0slua-lb.service" in script:
        state[name] = {"state": "removed"}
    else:
        err("stand-in: unknown script on stdin of `sudo sh -s`\n")
        return 1
    save("load-balancer.json", state)
    return 0


# ------------------------------------------------------------------------- k0slua support's commands

def kubectl_support(args, words):
    """What `k0slua support` asks the API: tables in kubectl's text shapes, and k0s's ClusterConfig
    built from the k0sctl.yaml next to the kubeconfig (spec.k0s.config, as k0sctl installs it)."""
    nodes = node_objects()
    if words[0] == "describe":
        for n in nodes:
            out(f"Name:               {n['metadata']['name']}\nRoles:              <none>\n"
                f"Addresses:\n  InternalIP:  {n['status']['addresses'][0]['address']}\n\n")
        return 0
    if words[1] == "events":
        out("NAMESPACE     LAST SEEN   TYPE     REASON    OBJECT            MESSAGE\n")
        for n in nodes:
            out(f"default       5m          Normal   Starting  node/{n['metadata']['name']}  Starting kubelet.\n")
        return 0
    if words[1] == "nodes,pods":
        out("NAME       STATUS   ROLES    AGE   VERSION       INTERNAL-IP\n")
        for n in nodes:
            out(f"node/{n['metadata']['name']}   Ready    <none>   5m    v1.34.2+k0s   {n['status']['addresses'][0]['address']}\n")
        return 0
    import yaml
    path = args[args.index("--kubeconfig") + 1] if "--kubeconfig" in args else os.environ.get("KUBECONFIG", "")
    config = {}
    k0sctl_yaml = os.path.join(os.path.dirname(path), "k0sctl.yaml")
    if os.path.exists(k0sctl_yaml):
        config = (yaml.safe_load(open(k0sctl_yaml))["spec"].get("k0s") or {}).get("config") or {}
    document = {"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig",
                "metadata": {"name": "k0s", "namespace": "kube-system"}, "spec": config.get("spec") or {}}
    out(yaml.safe_dump(document, sort_keys=False))
    return 0


def node_file(name, path):
    """Where a file a node's command wrote lives in the stand-in's state (one tree per node)."""
    return os.path.join(STATE, "nodefs", name, path.lstrip("/").replace("/", "_"))


def qualified(ref):
    """containerd's normalized name (docker.io/library/…:latest)."""
    parts = ref.split("/")
    if len(parts) == 1 or not ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = ["docker.io"] + (["library"] if len(parts) == 1 else []) + parts
    if ":" not in parts[-1] and "@" not in parts[-1]:
        parts[-1] += ":latest"
    return "/".join(parts)


def ssh_images(command, host, name):
    """`k0slua image load`: `cat > FILE` (the archive on stdin), `k0s ctr -n k8s.io images import`
    (reads the archive like containerd's importer: index.json of an OCI layout, else docker save's
    manifest.json) into a per-node image list that `images ls` reports; `rm -f -- FILE`. Faults:
    `no-k0s:NODE` (k0s not installed), `disk-full:NODE` (the copy fails), `image-lost:NODE` (the
    import succeeds and lists nothing). None for any other command."""
    copy = re.fullmatch(r"umask 077 && cat > '([^']*)'", command)
    if copy:
        data = sys.stdin.buffer.read()
        if f"disk-full:{name}" in faults():
            err("bash: line 1: cat: write error: No space left on device\n")
            return 1
        os.makedirs(os.path.dirname(node_file(name, copy.group(1))), exist_ok=True)
        with open(node_file(name, copy.group(1)), "wb") as f:
            f.write(data)
        return 0
    remove = re.fullmatch(r"rm -f -- '([^']*)'", command)
    if remove:
        if os.path.exists(node_file(name, remove.group(1))):
            os.remove(node_file(name, remove.group(1)))
        return 0
    imported = re.fullmatch(r"sudo k0s ctr -n k8s.io images import -- '([^']*)'; status=\$\?; rm -f -- '([^']*)'; exit \$status", command)
    if not imported:
        return None
    path = node_file(name, imported.group(1))
    try:
        status = ctr_import(path, host, name)
    finally:
        if os.path.exists(node_file(name, imported.group(2))):
            os.remove(node_file(name, imported.group(2)))
    return status


def ctr_import(path, host, name):
    import tarfile
    if load("k0s.json", {}).get(host) is None or f"no-k0s:{name}" in faults():
        err("sudo: k0s: command not found\n")
        return 127
    if not os.path.exists(path):
        err(f"ctr: open {path}: no such file or directory\n")
        return 1
    try:
        with tarfile.open(path) as archive:
            members = {m.name[2:] if m.name.startswith("./") else m.name: m for m in archive.getmembers()}
            read = lambda member: json.loads(archive.extractfile(members[member]).read())
            found = {}
            if "index.json" in members:
                for m in read("index.json")["manifests"]:
                    annotations = m.get("annotations") or {}
                    ref = annotations.get("io.containerd.image.name") or annotations.get("org.opencontainers.image.ref.name")
                    if ref and ("/" in ref or ":" in ref):
                        found[qualified(ref)] = {"type": m["mediaType"], "digest": m["digest"], "size": f"{m.get('size', 0)} B"}
            elif "manifest.json" in members:
                for entry in read("manifest.json"):
                    digest = "sha256:" + hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
                    for tag in entry.get("RepoTags") or []:
                        found[qualified(tag)] = {"type": "application/vnd.docker.distribution.manifest.v2+json", "digest": digest, "size": "1.0 KiB"}
            else:
                raise ValueError("no index")
    except Exception:
        err("ctr: unrecognized image format\n")
        return 1
    if f"image-lost:{name}" not in faults():
        # One file per node: nodes import in parallel.
        images = load(f"images-{host}.json", {})
        images.update(found)
        save(f"images-{host}.json", images)
    for ref, image in found.items():
        out(f"unpacking {ref} ({image['digest']})...done\n")
    return 0


def ssh_support(command, host, name):
    """The node commands of `k0slua support`; None for any other command. K0SLUA_STANDIN_JOURNAL
    (JSON {node: text}) adds lines to a node's journal."""
    node = load("k0s.json", {}).get(host)
    k0s = node is not None and f"k0s-down:{name}" not in faults()
    if command.startswith("sudo k0s sysinfo"):
        if node is None:
            err("sudo: k0s: command not found\n")
            return 1
        out("Total memory: 3.8 GiB (pass)\nDisk space available for /var/lib/k0s: 25.1 GiB (pass)\n"
            "Name resolution: localhost: [127.0.0.1 ::1] (pass)\nOperating system: Linux (pass)\n"
            "  Linux kernel release: 6.8.0-49-generic (pass)\n  Max. file descriptors per process: current: 1048576 / max: 1048576 (pass)\n")
        return 0
    if command.startswith("sudo journalctl -u k0scontroller -u k0sworker"):
        if node is None:
            out("-- No entries --\n")
            return 0
        unit = "k0sworker" if node["role"] == "worker" else "k0scontroller"
        out(f"Dec 05 17:00:00 {name} k0s[1234]: time=\"2026-12-05 17:00:00\" level=info msg=\"starting {unit}\"\n")
        extra = json.loads(os.environ.get("K0SLUA_STANDIN_JOURNAL", "{}")).get(name)
        if extra:
            out(extra if extra.endswith("\n") else extra + "\n")
        return 0
    if command == "ip -4 addr":
        out(f"1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    inet 127.0.0.1/8 scope host lo\n"
            f"2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    inet {host}/24 scope global eth0\n")
        return 0
    if command == "ip route":
        out(f"default via 192.168.64.1 dev eth0 proto dhcp src {host} metric 100\n192.168.64.0/24 dev eth0 proto kernel scope link src {host}\n")
        return 0
    if command == "df -h":
        out("Filesystem      Size  Used Avail Use% Mounted on\n/dev/vda1        31G  5.9G   25G  20% /\n")
        return 0
    if command == "free -m":
        out("               total        used        free      shared  buff/cache   available\nMem:            3915         812        1733           1        1598        3103\n")
        return 0
    if command.startswith("sudo k0s ctr -n k8s.io images ls"):
        if node is None or f"no-k0s:{name}" in faults():
            err("sudo: k0s: command not found\n")
            return 1
        if not k0s:
            err("Error: failed to dial \"/run/k0s/containerd.sock\": context deadline exceeded\n")
            return 1
        rows = [("registry.k8s.io/pause:3.10.1", "application/vnd.oci.image.index.v1+json",
                 "sha256:278fb9dbcca9518083ad1e11276933a2e96f23de604a3a08cc3c80002767d24c", "315.2 KiB", "linux/arm64", "io.cri-containerd.image=managed")]
        rows += [(ref, i["type"], i["digest"], i["size"], "linux/amd64", "-") for ref, i in sorted(load(f"images-{host}.json", {}).items())]
        if command.split()[-1] == "-q":
            out("".join(r[0] + "\n" for r in rows))
            return 0
        # ctr's tabwriter: columns padded to the widest cell plus one space.
        table = [("REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS", "LABELS")] + rows
        widths = [max(len(r[c]) for r in table) for c in range(5)]
        out("".join(" ".join(r[c].ljust(widths[c]) for c in range(5)) + " " + r[5] + "\n" for r in table))
        return 0
    if command == "cat /etc/hosts":
        out(f"127.0.0.1 localhost\n127.0.1.1 {name}\n")
        return 0
    return None


def main(tool):
    global TOOL, ARGV
    TOOL = tool
    ARGV = sys.argv[1:]
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    record()
    atexit.register(lambda: record({"end": True}))
    handler = {"vagrant": vagrant, "tart": tart, "virsh": virsh, "k0sctl": k0sctl, "kubectl": kubectl, "ssh": ssh, "sw_vers": sw_vers,
               "defaults": defaults, "ifconfig": ifconfig, "stat": stat, "sudo": sudo, "softnet": softnet, "route": route, "cat": cat}[tool]
    sys.exit(handler(ARGV))
