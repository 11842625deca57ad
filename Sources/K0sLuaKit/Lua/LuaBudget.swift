import Foundation

/// Limits a script cannot evade with pcall or coroutines.
public struct LuaBudget: Sendable, Equatable {
    /// Lua VM instructions, counted in steps of 1,000, plus the pattern matcher's units of work
    /// (string.find/match/gmatch/gsub), counted one by one.
    public var instructions: Int64
    /// Bytes the Lua allocator may hold at once.
    public var memoryBytes: Int
    /// Wall-clock seconds cluster.lua may run, inside C functions such as string.match too.
    public var seconds: Double
    /// Wall-clock seconds each hook call may run Lua; time waiting for programs it starts
    /// (`ctx.run`, `ctx.kubectl`) does not count.
    public var hookSeconds: Double

    /// 200 million instructions (about a second of pure Lua), 256 MiB, 5 s for cluster.lua and
    /// 30 s of Lua per hook call.
    public static let `default` = LuaBudget(instructions: 200_000_000, memoryBytes: 256 << 20)
    public static let defaultSeconds: Double = 5
    public static let defaultHookSeconds: Double = 30

    public init(instructions: Int64, memoryBytes: Int, seconds: Double = LuaBudget.defaultSeconds,
                hookSeconds: Double = LuaBudget.defaultHookSeconds) {
        self.instructions = instructions
        self.memoryBytes = memoryBytes
        self.seconds = seconds
        self.hookSeconds = hookSeconds
    }
}
