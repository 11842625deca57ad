import Foundation

/// The cluster's own SSH key pair, created once in the state directory.
public enum ClusterKey {
    /// Creates `id_ed25519` (0600) and `.pub` with ssh-keygen unless both exist; returns the public
    /// key line.
    public static func ensure(_ layout: StateLayout, clusterName: String, runner: any ProcessRunning) async throws -> String {
        let files = FileManager.default
        try FileWriter.makePrivate(layout)
        if !(files.fileExists(atPath: layout.privateKey) && files.fileExists(atPath: layout.publicKey)) {
            try? files.removeItem(atPath: layout.privateKey)
            try? files.removeItem(atPath: layout.publicKey)
            let result = try await runner.run(Command("ssh-keygen", [
                "-q", "-t", "ed25519", "-N", "", "-C", "k0slua-\(clusterName)", "-f", layout.privateKey,
            ]))
            guard result.succeeded else {
                throw ClusterKeyError(message: "ssh-keygen failed (exit \(result.exitCode)): \(result.standardError.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
        try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: layout.privateKey)
        guard let text = files.contents(atPath: layout.publicKey) else {
            throw ClusterKeyError(message: "cannot read \(layout.publicKey)")
        }
        return String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct ClusterKeyError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
