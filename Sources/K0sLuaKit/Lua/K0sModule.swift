/// The prelude run in every sandbox before cluster.lua: it builds the host module `k0s` (see
/// docs/cluster-lua.md and lib/k0s.lua for its annotated API), routes `print` to the log, and
/// installs a `require` that knows `k0s` and the text `.lua` files under the project's `lib/`.
/// Its source is `Resources/k0s.lua`, compiled into the binary (no resource bundle to find at run time).
enum K0sModule {
    static let source = String(decoding: PackageResources.k0s_lua, as: UTF8.self)
}
