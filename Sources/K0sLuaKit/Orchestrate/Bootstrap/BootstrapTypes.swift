import Foundation

/// What `k0slua up` does differently from the defaults.
public struct BootstrapOptions: Sendable {
    /// Phases reported as skipped by name (never as passed).
    public var skip: Set<BootstrapPhase>
    /// Merge the kubeconfig into the user's under the context `k0slua-<name>`.
    public var mergeKubeconfig: Bool
    /// `vagrant up --parallel`; false forces machines up one at a time (benchmarks).
    public var parallel: Bool
    /// Health checks to skip in the last phase.
    public var skipHealthChecks: Set<String>
    /// How long the health phase retries before it fails: a new cluster's system pods take a
    /// minute or two to settle after k0sctl returns.
    public var healthWaitSeconds: Double
    /// Use only the cache: fail before any machine starts when something is missing.
    public var offline: Bool
    /// The shared download cache (k0s, its images, k0sctl, kubectl).
    public var cache: CacheLayout

    /// The machine `up` runs on (macOS-only diagnoses depend on it).
    public var hostFacts: HostFacts
    /// How long draining a leaving worker may take.
    public var drainTimeoutSeconds: Int = 300
    /// Drain with `--force --disable-eviction`: pods that block the drain (no controller, a
    /// PodDisruptionBudget) are deleted instead of stopping `up`.
    public var forceDrain: Bool = false
    /// Remove controllers even when the leader leaves or fewer than etcd's quorum stay, and skip
    /// the quorum check before each `k0s etcd leave` (`up --force-controller-removal`).
    public var forceControllerRemoval: Bool = false
    /// How long a resized node may take to come back (Node Ready, or k0s answering).
    public var resizeWaitSeconds: Double = 300
    /// How many SSH sessions to nodes run at once (`--parallel N`), in every phase that fans out;
    /// also how many machines `stop` halts at once.
    public var concurrency: Int = FanOut.defaultLimit

    public init(skip: Set<BootstrapPhase> = [], mergeKubeconfig: Bool = false, parallel: Bool = true, skipHealthChecks: Set<String> = [],
                healthWaitSeconds: Double = 300, offline: Bool = false, cache: CacheLayout = .default(), hostFacts: HostFacts = .current) {
        self.hostFacts = hostFacts
        self.offline = offline
        self.cache = cache
        self.skip = skip
        self.mergeKubeconfig = mergeKubeconfig
        self.parallel = parallel
        self.skipHealthChecks = skipHealthChecks
        self.healthWaitSeconds = healthWaitSeconds
    }
}

/// Why `up` stopped: the phase, the tool, the last lines it printed and where the full log is.
public struct BootstrapFailure: Error, Sendable, CustomStringConvertible {
    public var phase: BootstrapPhase
    public var tool: String?
    public var message: String
    public var outputTail: [String]
    public var logFile: String?
    /// Set for problems in cluster.lua hooks (exit 65 is not used: the cluster is half built).
    public var hint: String?

    public var description: String {
        "\(phase.rawValue) failed" + (tool.map { " (\($0))" } ?? "") + ": \(message)"
    }
}

/// How long each phase took, and what the cluster looks like.
public struct BootstrapSummary: Sendable {
    /// The cluster with every address known.
    public var cluster: Cluster
    public var timings: [(phase: BootstrapPhase, seconds: Double, skipped: Bool)]
    public var totalSeconds: Double
    public var kubeconfig: String?
    public var health: HealthReport?
}

/// A step of `k0slua up`, in order. Names are what `--skip` takes.
public enum BootstrapPhase: String, Sendable, CaseIterable, Codable {
    case preflight
    case download
    case sshKey = "ssh-key"
    case render
    case machines
    case addresses
    case connectivity
    case preJoin = "pre-join"
    case k0sctl
    case leave
    case kubeconfig
    case postJoin = "post-join"
    case health

    /// What the phase does, for progress lines.
    public var title: String {
        switch self {
        case .preflight: "checking tools"
        case .download: "k0s and its images into the host cache"
        case .sshKey: "cluster SSH key"
        case .render: "rendering Vagrantfile and k0sctl.yaml"
        case .machines: "starting machines"
        case .addresses: "node addresses and /etc/hosts"
        case .connectivity: "checking node-to-node connectivity"
        case .preJoin: "pre_join hooks"
        case .k0sctl: "k0sctl apply"
        case .leave: "removing nodes cluster.lua no longer has"
        case .kubeconfig: "kubeconfig"
        case .postJoin: "post_join hooks"
        case .health: "health checks"
        }
    }
}
