import Foundation
@testable import K0sLuaKit
import Testing

/// Issue 18.4's prevention: `k0slua doctor` on a Mac warns about recorded DHCP nodes without a
/// bootpd reservation in /etc/bootptab (the stand-in `cat` answers it from the macOS scenario).
@Suite struct MovedLeaseDoctorTests {
    static let bridge = ["bridge100": ["inet": "192.168.64.1", "netmask": "0xffffff00", "broadcast": "192.168.64.255"]]

    static func recorded() throws -> Cluster {
        let cluster = try MacNetworkChecksTests.cluster(.softnet)
        return cluster.resolving(["control-plane-1": IPv4Address("192.168.64.2")!, "worker-1": IPv4Address("192.168.64.3")!])
    }

    @Test func item18_4_bootptabIsParsedAfterThePercentLine() {
        let entries = MacNetworkChecks.parseBootptab("""
            # comment before the table
            ignored 1 00:00:00:00:00:01 192.168.64.9
            %%
            # machine entries
            cp1\t1\t5e:2d:aa:01:02:03\t192.168.64.2   # pinned
            bad 1 5e:2d:aa:01:02:04 not-an-ip
            w1 1 5e:2d:aa:01:02:05 192.168.64.3 boot
            """)
        #expect(entries.map { "\($0.name) \($0.hardwareAddress) \($0.ip)" } == ["cp1 5e:2d:aa:01:02:03 192.168.64.2", "w1 5e:2d:aa:01:02:05 192.168.64.3"])
    }

    @Test func item18_4_doctorWarnsAboutARecordedNodeWithoutAReservation() async throws {
        let doctor = try await MacNetworkChecksTests.macDoctor(try MacNetworkChecksTests.cluster(.softnet), scenario: [
            "interfaces": Self.bridge,
            "bootptab": "%%\nk0slua-cp1 1 5e:2d:aa:01:02:03 192.168.64.2\n",
        ], softnet: .suid, recorded: try Self.recorded())
        #expect(doctor.report.contains("""
            warn     DHCP reservations no reservation in /etc/bootptab for worker-1 192.168.64.3: after a stop/start or a host reboot DHCP may move them, and a moved controller stops `k0slua start`
            """), "\(doctor.report)")
        #expect(doctor.report.contains("MAC: \"macAddress\" in ~/.tart/vms/TARTNAME/config.json"), "\(doctor.report)")
        #expect(!doctor.failed, "a warning only")
        #expect(doctor.calls.contains("cat /etc/bootptab"))
    }

    @Test func item18_4_doctorIsQuietWhenEveryNodeIsReservedOrNothingIsRecorded() async throws {
        let reserved = try await MacNetworkChecksTests.macDoctor(try MacNetworkChecksTests.cluster(.softnet), scenario: [
            "interfaces": Self.bridge,
            "bootptab": "%%\na 1 5e:2d:aa:01:02:03 192.168.64.2\nb 1 5e:2d:aa:01:02:04 192.168.64.3\n",
        ], softnet: .suid, recorded: try Self.recorded())
        #expect(reserved.report.contains("ok       DHCP reservations every recorded node's address is reserved in /etc/bootptab"), "\(reserved.report)")
        let missingFile = try await MacNetworkChecksTests.macDoctor(try MacNetworkChecksTests.cluster(.softnet), scenario: ["interfaces": Self.bridge],
                                                                    softnet: .suid, recorded: try Self.recorded())
        #expect(missingFile.report.contains("no reservation in /etc/bootptab for control-plane-1 192.168.64.2, worker-1 192.168.64.3"), "\(missingFile.report)")
        let fresh = try await MacNetworkChecksTests.macDoctor(try MacNetworkChecksTests.cluster(.softnet), scenario: ["interfaces": Self.bridge], softnet: .suid)
        #expect(!fresh.report.contains("DHCP reservations") && !fresh.calls.contains("cat /etc/bootptab"))
    }
}
