import ArgumentParser

extension K0sLuaCommand {
    /// Hidden: fails the way a bug in k0slua fails, so that the tests of the built binary can hold
    /// the root's promise (exit 70, "this is a bug", what to report) without a real bug to hand.
    struct InternalErrorProbe: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "internal-error-probe", shouldDisplay: false)

        struct Unexpected: Error, CustomStringConvertible {
            var description: String { "an error no command handles" }
        }

        func run() throws { throw Unexpected() }
    }
}
