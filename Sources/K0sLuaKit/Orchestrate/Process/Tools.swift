/// The external programs k0slua drives, with the environment each needs.
public struct Tools: Sendable {
    public let layout: StateLayout

    public init(layout: StateLayout) { self.layout = layout }

    /// Vagrant never phones home and always works in the state directory.
    public var vagrantEnvironment: [String: String] {
        ["VAGRANT_CHECKPOINT_DISABLE": "1", "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1", "VAGRANT_CWD": layout.directory]
    }

    public func vagrant(_ arguments: [String]) -> Command {
        Command("vagrant", arguments, environment: vagrantEnvironment, workingDirectory: layout.directory)
    }

    /// k0sctl reads host keys from the cluster's own known_hosts (accept-new), so recreated VMs
    /// never trip over the user's ~/.ssh/known_hosts.
    public func k0sctl(_ arguments: [String]) -> Command {
        Command("k0sctl", arguments, environment: ["SSH_KNOWN_HOSTS": layout.knownHosts], workingDirectory: layout.directory)
    }

    public func kubectl(_ arguments: [String]) -> Command {
        Command("kubectl", ["--kubeconfig", layout.kubeconfig] + arguments)
    }

    public func tart(_ arguments: [String]) -> Command { Command("tart", arguments) }
}
