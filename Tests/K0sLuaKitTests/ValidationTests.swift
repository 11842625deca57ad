import Foundation
import K0sLuaKit
import Testing

/// Validation fixtures mark each line an error must name with `-- expect: CODE PATH`; the test
/// asserts exactly that set (code, path, line), so a missing or extra problem fails.
@Suite struct ValidationTests {
    struct Expectation: Hashable, CustomStringConvertible {
        let line: Int
        let code: String
        let path: String
        var description: String { "\(line): \(code) \(path)" }
    }

    static func expectations(in file: String) -> Set<Expectation> {
        let text = String(decoding: FileManager.default.contents(atPath: file)!, as: UTF8.self)
        var found = Set<Expectation>()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard let range = line.range(of: "-- expect: ") else { continue }
            let parts = line[range.upperBound...].split(separator: " ", maxSplits: 1)
            found.insert(Expectation(line: index + 1, code: String(parts[0]), path: parts.count > 1 ? String(parts[1]) : ""))
        }
        return found
    }

    @Test(arguments: ["meaning", "values", "shape", "addressing-softnet", "addressing-shared", "addressing-bridged", "addressing-libvirt", "addressing-hosts", "injection"])
    func everyProblemIsReportedAtItsLine(fixture: String) throws {
        let file = "\(Repo.fixtures)/validation/\(fixture).lua"
        let expected = Self.expectations(in: file)
        let problems = diagnostics { () throws(DiagnosticList) in try loadCluster(file) }.filter { $0.severity == .error }
        let actual = Set(problems.map { Expectation(line: $0.line ?? 0, code: $0.code.rawValue, path: $0.path) })
        #expect(actual == expected, "missing: \(expected.subtracting(actual).sorted { $0.line < $1.line }), unexpected: \(actual.subtracting(expected).sorted { $0.line < $1.line })")
        #expect(!expected.isEmpty)
    }

    @Test func item19_theDecoderChecksShapeAndTheValidatorMeaning() throws {
        func table(_ fields: [(String, LuaValue)], line: Int) -> LuaValue {
            .table(LuaTable(entries: fields.map { (key: LuaValue.string($0.0), value: $0.1) }, line: line))
        }
        let node = table([("name", .string("cp-1")), ("role", .string("controller")), ("ip", .string("192.168.64.10")),
                          ("cpus", .integer(2)), ("memory", .integer(2048)), ("disk", .integer(32)), ("workloads", .boolean(true)),
                          ("labels", table([("bad key", .string("x"))], line: 7)), ("ssh", table([("port", .integer(70000))], line: 8))], line: 6)
        let root = table([("name", .string("c")), ("provider", .string("libvirt")), ("k0s", table([("version", .string("1.33"))], line: 2)),
                          ("ssh", table([("port", .integer(0))], line: 3)),
                          ("nodes", .table(LuaTable(entries: [(key: .integer(1), value: node)], line: 5)))], line: 1)
        // The shape is right: the decoder takes it as it is.
        let cluster = try ClusterDecoder(file: "cluster.lua").decode(root)
        #expect(cluster.k0s.version == "v1.33" || cluster.k0s.version == "1.33")
        // The meaning is not: the validator names each value.
        let problems = ClusterValidator(file: "cluster.lua", hostFacts: fixedHost).diagnostics(for: cluster).filter { $0.severity == .error }
        #expect(Set(problems.map { "\($0.line ?? 0) \($0.code.rawValue) \($0.path)" })
                == ["2 invalid-value k0s.version", "3 invalid-value ssh.port", "8 invalid-value nodes[1].ssh.port", "7 invalid-label nodes[1].labels[\"bad key\"]"],
                "\(problems)")
    }

    @Test func unknownKeysSuggestTheClosestKnownKey() throws {
        let problems = diagnostics { () throws(DiagnosticList) in try loadCluster("\(Repo.fixtures)/validation/shape.lua") }
        let unknown = try #require(problems.first { $0.path == "nodes[3].lables" })
        #expect(unknown.message == "unknown key; did you mean \"labels\"?")
        let memory = try #require(problems.first { $0.path == "nodes[1].memory" })
        #expect(memory.description == "Tests/K0sLuaKitTests/Fixtures/validation/shape.lua:10: nodes[1].memory: expected integer (MiB), got string \"4G\"")
    }

    @Test func scaledRangesThatCollideNameBothNodes() throws {
        let problems = diagnostics { () throws(DiagnosticList) in
            try loadCluster(Repo.defaultClusterFile, environment: ["control_plane_count": "11", "vagrant_provider": "libvirt"])
        }
        let collision = try #require(problems.first { $0.code == .addressCollision })
        #expect(collision.message == "192.168.64.20 is taken by both control-plane-11 and worker-1")
        #expect(collision.severity == .error)
    }

    @Test func emptyClustersAndWorkloadlessClustersAreRejected() {
        let none = diagnostics { () throws(DiagnosticList) in try loadSource("return { nodes = {} }") }
        #expect(none.map(\.code).contains(.noController))
        let noWorkloads = diagnostics { () throws(DiagnosticList) in
            try loadSource("return { nodes = { { name = 'c', role = 'controller', ip = 'dhcp', cpus = 1, memory = 1024, disk = 20 } } }")
        }
        #expect(noWorkloads.map(\.code) == [.noWorkloadNode])
    }

    @Test func warningsDoNotStopThePlan() throws {
        let loaded = try loadCluster(Repo.defaultClusterFile, environment: ["control_plane_count": "2", "worker_count": "3"])
        #expect(loaded.warnings.map(\.code).contains(.evenControllerCount))
        let big = try loadCluster(Repo.defaultClusterFile, environment: ["worker_count": "5", "memory_worker": "8192"])
        #expect(big.warnings.map(\.code).contains(.exceedsHostCapacity))
    }

    @Test func softnetCannotCarryStaticAddresses() {
        let problems = diagnostics { () throws(DiagnosticList) in
            try loadSource("""
            return { network = { mode = "softnet" }, nodes = {
              { name = 'c', role = 'controller', workloads = true, ip = '192.168.64.10', cpus = 1, memory = 1024, disk = 20 } } }
            """)
        }
        #expect(problems.map(\.code) == [.invalidAddressing])
        #expect(problems.first?.hint?.contains("ip = \"dhcp\"") == true)
    }

    @Test func sharedTartWithSeveralNodesWarnsOfIsolation() throws {
        let loaded = try loadSource("""
            return { network = { mode = "shared" }, nodes = {
              { name = 'c', role = 'controller', workloads = true, ip = 'dhcp', cpus = 1, memory = 1024, disk = 20 },
              { name = 'w', role = 'worker', ip = 'dhcp', cpus = 1, memory = 1024, disk = 20 } } }
            """)
        #expect(loaded.warnings.map(\.code) == [.invalidNetworkMode])
        #expect(loaded.cluster.nodes.allSatisfy { $0.addressing == .dhcp && $0.ip == nil })
    }

    @Test func theProductDefaults() throws {
        let oneOne = try loadCluster(Repo.defaultClusterFile).cluster
        #expect(oneOne.nodes.map(\.name) == ["control-plane-1", "worker-1"])
        #expect(oneOne.nodes.map(\.k0sRole) == [.controllerWorker, .worker])
        // Tart (the default): softnet, addresses from DHCP at boot.
        #expect(oneOne.network.tartMode == .softnet)
        #expect(oneOne.nodes.allSatisfy { $0.addressing == .dhcp && $0.ip == nil })
        #expect(oneOne.nodes.map(\.memoryMiB) == [2048, 4096])
        #expect(oneOne.nodes.allSatisfy { $0.cpus == 2 && $0.diskGB == 32 })
        #expect(oneOne.provider == .tart)
        #expect(oneOne.k0s.version == nil)
        for (count, workloadControllers) in [(1, 1), (2, 2), (3, 1), (4, 1), (5, 1), (6, 2), (9, 3)] {
            let cluster = try loadCluster(Repo.defaultClusterFile, environment: ["control_plane_count": String(count)]).cluster
            let running = cluster.controllers.filter(\.runsWorkloads).map(\.name)
            #expect(running == (1...workloadControllers).map { "control-plane-\($0)" }, "\(count) controllers")
        }
        let libvirt = try loadCluster(Repo.defaultClusterFile, environment: ["vagrant_provider": "libvirt"]).cluster
        #expect(libvirt.provider == .libvirt)
        #expect(libvirt.nodes.map { $0.ip?.description } == ["192.168.64.10", "192.168.64.20"])
        #expect(libvirt.nodes.allSatisfy { $0.addressing == .fixed })
        let threeTwo = try loadCluster(Repo.defaultClusterFile, environment: ["vagrant_provider": "libvirt", "control_plane_count": "3", "worker_count": "2"]).cluster
        #expect(threeTwo.nodes.map { $0.ip?.description } == ["192.168.64.10", "192.168.64.11", "192.168.64.12", "192.168.64.20", "192.168.64.21"])
    }
}
