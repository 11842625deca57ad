/// An IPv4 address.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Parses dotted-quad notation; nil for anything else (no leading zeros, no shorthand).
    public init?(_ text: String) {
        // Byte by byte: four octets of one to three ASCII digits, no leading zero, at most 255.
        var result: UInt32 = 0
        var octets = 0
        var octet: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, octets < 3 else { return nil }
                result = result << 8 | octet
                octets += 1
                octet = 0
                digits = 0
                continue
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), digits < 3 else { return nil }
            if digits == 0 { leadingZero = byte == UInt8(ascii: "0") } else if leadingZero { return nil }
            octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
            digits += 1
            guard octet <= 255 else { return nil }
        }
        guard digits > 0, octets == 3 else { return nil }
        value = result << 8 | octet
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    /// The address `offset` places further, or nil when that leaves the IPv4 space.
    public func adding(_ offset: Int64) -> IPv4Address? {
        let next = Int64(value) + offset
        guard next >= 0, next <= Int64(UInt32.max) else { return nil }
        return IPv4Address(UInt32(next))
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// An IPv4 network in CIDR notation, e.g. `192.168.64.0/24`.
public struct IPv4CIDR: Sendable, Hashable, CustomStringConvertible {
    public let address: IPv4Address
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])),
              let prefix = Int(parts[1]), (0...32).contains(prefix), !parts[1].hasPrefix("+")
        else { return nil }
        self.address = address
        self.prefixLength = prefix
    }

    public init(address: IPv4Address, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    public var mask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << UInt32(32 - prefixLength) }
    public var network: IPv4Address { IPv4Address(address.value & mask) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }
    public var netmask: IPv4Address { IPv4Address(mask) }
    /// True when the address part has host bits set (`192.168.64.5/24`).
    public var hasHostBits: Bool { address.value & ~mask != 0 }

    public func contains(_ ip: IPv4Address) -> Bool { ip.value & mask == network.value }

    public var description: String { "\(network)/\(prefixLength)" }
}
