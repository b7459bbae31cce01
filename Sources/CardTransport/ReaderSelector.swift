import Foundation

/// How a user names a reader on the command line: exactly, by its index in
/// `dmboot readers`, or by a piece of its name that fits only one reader.
/// Named by nobody, it is the only reader, or else the only one holding a
/// card (`holdingCards`, when the caller knows), as opensc-tool does.
public enum ReaderSelector {
    public static func select(_ query: String?, from names: [String], holdingCards: [String]? = nil) throws -> String {
        guard !names.isEmpty else { throw PCSCError.noReaders }
        guard let query, !query.isEmpty else {
            if names.count == 1 { return names[0] }
            guard let holdingCards else { throw PCSCError.ambiguousReader("", candidates: names) }
            switch holdingCards.count {
            case 1: return holdingCards[0]
            case 0: throw PCSCError.noCardInAnyReader(readers: names)
            default: throw PCSCError.ambiguousReader("", candidates: holdingCards)
            }
        }
        if names.contains(query) { return query }
        if let index = Int(query), names.indices.contains(index) { return names[index] }
        let matches = names.filter { $0.range(of: query, options: .caseInsensitive) != nil }
        switch matches.count {
        case 1: return matches[0]
        case 0: throw PCSCError.unknownReader(query, available: names)
        default: throw PCSCError.ambiguousReader(query, candidates: matches)
        }
    }
}
