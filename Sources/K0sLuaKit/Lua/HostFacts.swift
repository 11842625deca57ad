import Foundation

/// Read-only facts about the machine k0slua runs on, offered to cluster.lua as `k0s.host`.
public struct HostFacts: Sendable, Equatable {
    public var cpus: Int
    public var memoryMiB: Int
    /// `linux` or `macos`.
    public var os: String
    /// `arm64` or `x86_64`.
    public var arch: String

    public init(cpus: Int, memoryMiB: Int, os: String, arch: String) {
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.os = os
        self.arch = arch
    }

    /// The facts of this machine.
    public static var current: HostFacts {
        #if os(macOS)
        let os = "macos"
        #else
        let os = "linux"
        #endif
        #if arch(arm64)
        let arch = "arm64"
        #else
        let arch = "x86_64"
        #endif
        return HostFacts(cpus: ProcessInfo.processInfo.activeProcessorCount,
                         memoryMiB: Int(ProcessInfo.processInfo.physicalMemory >> 20), os: os, arch: arch)
    }
}
