import Foundation

/// Writes generated files atomically, and not at all when the bytes are unchanged.
public enum FileWriter {
    /// Returns true when the file was (re)written. An unchanged file still gets `permissions`
    /// (a file an older k0slua wrote 0644 is tightened on the next write).
    @discardableResult
    public static func write(_ text: String, to path: String, permissions: Int = 0o600) throws -> Bool {
        let data = Data(text.utf8)
        if FileManager.default.contents(atPath: path) == data {
            chmod(path, mode_t(permissions))
            return false
        }
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory.isEmpty ? "." : directory, withIntermediateDirectories: true)
        let temporary = "\(path).tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: permissions]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: temporary)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        return true
    }

    /// Creates the cluster's state directory readable by the user only (0700) and tightens what an
    /// older k0slua left open: the directory, and every file directly in it to 0600 (k0sctl.yaml
    /// holds keepalived's password, the kubeconfig the admin certificate, and state.json,
    /// the Vagrantfile and known_hosts the cluster's addresses).
    public static func makePrivate(_ layout: StateLayout) throws {
        try FileManager.default.createDirectory(atPath: layout.directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        chmod(layout.directory, 0o700)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: layout.directory)) ?? [] {
            let path = layout.directory + "/" + name
            var info = stat()
            if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & 0o077 != 0 {
                chmod(path, (info.st_mode & 0o700) | 0o600)
            }
        }
    }
}
