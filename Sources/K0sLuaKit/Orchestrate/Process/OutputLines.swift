/// Splits a child's output into lines as it arrives, chunk by chunk, exactly as swift-subprocess's
/// `strings()` (line breaks, UTF-8) does: LF, VT, FF, CR, CR LF, NEL, LS and PS end a line and are
/// left out; a line longer than `maximumLength` bytes stops the reading. `strings()` works one
/// byte at a time through generic async calls, which made reading a 200-node `kubectl get nodes
/// -o json` take a large part of a fleet run's own time; this works on whole chunks.
struct OutputLines {
    /// The error `strings()` throws for a long line, with its message.
    struct LineTooLong: Error, CustomStringConvertible {
        let limit: Int
        var description: String { "The process's output exceeded the limit of \(limit) bytes." }
    }

    /// What the bytes before the next one left open.
    private enum Pending {
        case none
        /// A CR ended a line; an LF right after it belongs to that break.
        case carriageReturn
        /// 0xC2: NEL when 0x85 follows.
        case nextLineLead
        /// 0xE2: LS or PS when 0x80 and then 0xA8 or 0xA9 follow.
        case separatorLead
        case separatorMiddle
    }

    let maximumLength: Int
    private var line: [UInt8] = []
    private var pending = Pending.none

    init(maximumLength: Int = 128 * 1024) { self.maximumLength = maximumLength }

    /// Feeds the next chunk; `emit` gets each line it completes.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (String) -> Void) throws(LineTooLong) {
        for byte in bytes {
            switch pending {
            case .carriageReturn:
                pending = .none
                if byte == 0x0A { continue }
                try take(byte, emit: emit)
            case .nextLineLead:
                pending = .none
                if byte == 0x85 { finishLine(emit) } else { line.append(0xC2); line.append(byte) }
            case .separatorLead:
                if byte == 0x80 { pending = .separatorMiddle } else { pending = .none; line.append(0xE2); line.append(byte) }
            case .separatorMiddle:
                pending = .none
                if byte == 0xA8 || byte == 0xA9 { finishLine(emit) } else { line.append(contentsOf: [0xE2, 0x80, byte]) }
            case .none:
                try take(byte, emit: emit)
            }
        }
    }

    /// The end of the output: the last line, unless it is empty.
    mutating func finish(emit: (String) -> Void) {
        switch pending {
        case .nextLineLead: line.append(0xC2)
        case .separatorLead: line.append(0xE2)
        case .separatorMiddle: line.append(contentsOf: [0xE2, 0x80])
        case .none, .carriageReturn: break
        }
        pending = .none
        if !line.isEmpty { finishLine(emit) }
    }

    /// A byte that starts a step of `strings()`'s loop (where it checks the length).
    private mutating func take(_ byte: UInt8, emit: (String) -> Void) throws(LineTooLong) {
        if line.count >= maximumLength { throw LineTooLong(limit: maximumLength) }
        switch byte {
        case 0x0A, 0x0B, 0x0C: finishLine(emit)
        case 0x0D: finishLine(emit); pending = .carriageReturn
        case 0xC2: pending = .nextLineLead
        case 0xE2: pending = .separatorLead
        default: line.append(byte)
        }
    }

    private mutating func finishLine(_ emit: (String) -> Void) {
        emit(String(decoding: line, as: UTF8.self))
        line.removeAll(keepingCapacity: true)
    }
}
