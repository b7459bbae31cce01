/// A change between two looks at the readers: what `dmboot readers --watch`
/// reports, the events pcsc_scan prints, in dmboot's terms.
public enum ReaderEvent: Equatable, Sendable {
    case readerAdded(String)
    case readerRemoved(String)
    case cardInserted(String)
    case cardRemoved(String)
    /// A card is in the reader but does not answer (inserted the wrong way, or dead).
    case cardMute(String)

    public var reader: String {
        switch self {
        case .readerAdded(let name), .readerRemoved(let name), .cardInserted(let name), .cardRemoved(let name),
             .cardMute(let name):
            return name
        }
    }

    /// The event's name in the JSON lines.
    public var name: String {
        switch self {
        case .readerAdded: return "reader-added"
        case .readerRemoved: return "reader-removed"
        case .cardInserted: return "card-inserted"
        case .cardRemoved: return "card-removed"
        case .cardMute: return "card-mute"
        }
    }
}

/// Turns successive `ReaderMonitor` pictures into events. A card swapped
/// between two looks still shows as present; pcscd's event count tells it,
/// and it is reported as a removal and an insertion.
public struct ReaderEvents {
    private var last: [String: ReaderSnapshot] = [:]

    public init() {}

    /// The events that lead from the previous picture to `readers` (from none, the first time).
    public mutating func next(_ readers: [ReaderSnapshot]) -> [ReaderEvent] {
        var events: [ReaderEvent] = []
        let names = Set(readers.map(\.name))
        for gone in last.keys.sorted() where !names.contains(gone) {
            if last[gone]?.cardPresent == true { events.append(.cardRemoved(gone)) }
            events.append(.readerRemoved(gone))
        }
        for reader in readers {
            let before = last[reader.name]
            if before == nil { events.append(.readerAdded(reader.name)) }
            let swapped = before?.cardPresent == true && reader.cardPresent && before?.cardEvents != reader.cardEvents
            if before?.cardPresent == true && (!reader.cardPresent || swapped) { events.append(.cardRemoved(reader.name)) }
            if reader.cardPresent && (before?.cardPresent != true || swapped) {
                events.append(reader.mute ? .cardMute(reader.name) : .cardInserted(reader.name))
            }
        }
        last = Dictionary(uniqueKeysWithValues: readers.map { ($0.name, $0) })
        return events
    }
}
