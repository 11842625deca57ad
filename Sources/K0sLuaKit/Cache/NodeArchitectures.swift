import Foundation

/// Each node's k0s architecture as the last `up` found it, in `<state>/architectures.json`, so
/// that `render` writes the k0sctl.yaml `up` wrote. VM guests have the architecture their
/// provider gives them; existing `hosts` are asked with `uname -m` over SSH.
public enum NodeArchitectures {
    /// What `up` runs on each existing host.
    public static let probe = "uname -m"

    /// `<state>/architectures.json`.
    public static func path(_ layout: StateLayout) -> String { layout.directory + "/architectures.json" }

    /// Node name → k0s architecture (`amd64`, `arm64`, `arm`); empty when nothing is recorded.
    public static func read(_ layout: StateLayout) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path(layout)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: String] else { return [:] }
        return object
    }

    /// Records node name → k0s architecture (0600, atomically).
    public static func write(_ architectures: [String: String], to layout: StateLayout) throws {
        let data = try JSONSerialization.data(withJSONObject: architectures, options: [.sortedKeys, .prettyPrinted])
        try FileWriter.write(String(decoding: data, as: UTF8.self) + "\n", to: path(layout), permissions: 0o600)
    }
}
