import APDU
import CardCrypto
import Foundation
import LocalFiles
import SecureChannel

/// A per-card key table: a CSV file (RFC 4180) whose header names a lookup
/// column, ICCID or KDD (hex), and the columns ENC, MAC, DEK and optionally
/// KVN; header names in any case. One row per card.
///
/// The key columns may be encrypted as pySim's CardKeyFieldCryptor does
/// (GSMA FS.28 column encryption): hex of AES-CBC under a key-encryption key
/// with the IV 23×16 and no padding. The key-encryption key stays in a token;
/// only the row of the card in hand is ever decrypted.
public final class KeyTable: Sendable {
    public enum LookupColumn: String, Sendable { case iccid = "ICCID", kdd = "KDD" }

    public let path: String
    /// A table in the clear is a secret file; this bound (ten million cards
    /// of about a hundred bytes) replaces the 64 KiB of a single secret.
    static let sizeLimit = 1 << 30
    public let lookupColumns: [LookupColumn]
    private let rows: [Row]

    struct Row: Sendable {
        let iccid: String?
        let kdd: [UInt8]?
        let version: UInt8
        /// The key cells as written in the file (hex text, plain or encrypted).
        let enc: HexCell, mac: HexCell, dek: HexCell
        let line: Int
    }

    /// Text of one key cell, wiped when the table goes.
    final class HexCell: Sendable {
        let bytes: SecretBytes
        init(_ text: [UInt8]) { bytes = SecretBytes(text) }
    }

    /// Reads and checks the whole table up front, so a malformed line fails
    /// before any card is touched. A table with plaintext keys must be
    /// readable by its owner only, like a key file.
    public init(path: String, encrypted: Bool) throws {
        self.path = path
        var data: [UInt8]
        if encrypted {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw KeyTableError.unreadable(path: path, reason: "cannot read it")
            }
            data = [UInt8](contents)
        } else {
            do {
                data = try SecretFile.read(path, limit: Self.sizeLimit)
            } catch let error as SecretFileError where !error.isPermissionProblem {
                throw KeyTableError.unreadable(path: path, reason: error.reason)
            }
        }
        defer { Secure.wipe(&data) }
        var records = try CSVReader.records(data, path: path)
        defer { for index in records.indices { for field in records[index].fields.indices { Secure.wipe(&records[index].fields[field]) } } }
        guard let header = records.first else { throw KeyTableError.malformed(path: path, line: 1, reason: "the file is empty") }
        let names = header.fields.map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces).uppercased() }
        func column(_ name: String) -> Int? { names.firstIndex(of: name) }
        var lookup: [LookupColumn] = []
        if column("ICCID") != nil { lookup.append(.iccid) }
        if column("KDD") != nil { lookup.append(.kdd) }
        guard !lookup.isEmpty else {
            throw KeyTableError.malformed(path: path, line: header.line, reason: "the header has neither ICCID nor KDD")
        }
        guard let encColumn = column("ENC"), let macColumn = column("MAC"), let dekColumn = column("DEK") else {
            throw KeyTableError.malformed(path: path, line: header.line, reason: "the header lacks ENC, MAC or DEK")
        }
        lookupColumns = lookup
        var parsed: [Row] = []
        var seen = Set<String>()
        for record in records.dropFirst() {
            guard record.fields.count == names.count else {
                throw KeyTableError.malformed(path: path, line: record.line,
                                              reason: "\(record.fields.count) fields, the header has \(names.count)")
            }
            func text(_ index: Int?) -> String? {
                index.map { String(decoding: record.fields[$0], as: UTF8.self).trimmingCharacters(in: .whitespaces) }
                    .flatMap { $0.isEmpty ? nil : $0 }
            }
            let iccid = text(column("ICCID")).map { $0.uppercased() }
            var kdd: [UInt8]?
            if let kddText = text(column("KDD")) {
                guard let bytes = try? Hex.decode(kddText), bytes.count == KDF3.kddLength else {
                    throw KeyTableError.malformed(path: path, line: record.line, reason: "KDD is 10 bytes in hex")
                }
                kdd = bytes
            }
            guard iccid != nil || kdd != nil else {
                throw KeyTableError.malformed(path: path, line: record.line, reason: "neither ICCID nor KDD is filled in")
            }
            for identity in [iccid.map { "ICCID " + $0 }, kdd.map { "KDD " + Hex.encode($0) }].compactMap({ $0 }) {
                guard seen.insert(identity).inserted else {
                    throw KeyTableError.malformed(path: path, line: record.line, reason: "a second row for \(identity)")
                }
            }
            var version: UInt8 = 0
            if let kvn = text(column("KVN")) {
                guard let bytes = try? Hex.decode(kvn), bytes.count == 1 else {
                    throw KeyTableError.malformed(path: path, line: record.line, reason: "KVN is one hex byte, such as 30")
                }
                version = bytes[0]
            }
            var cells: [HexCell] = []
            for (name, index) in [("ENC", encColumn), ("MAC", macColumn), ("DEK", dekColumn)] {
                let field = record.fields[index].filter { $0 != 0x20 && $0 != 0x09 }
                guard field.count % 2 == 0, field.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }),
                      [32, 48, 64].contains(field.count) else {
                    throw KeyTableError.malformed(path: path, line: record.line,
                                                  reason: "\(name) is not an AES key of 16, 24 or 32 bytes in hex")
                }
                if encrypted && field.count == 48 {
                    throw KeyTableError.malformed(path: path, line: record.line,
                                                  reason: "\(name): an encrypted column holds whole AES blocks (16 or 32 bytes)")
                }
                cells.append(HexCell(field))
            }
            parsed.append(Row(iccid: iccid, kdd: kdd, version: version, enc: cells[0], mac: cells[1], dek: cells[2],
                              line: record.line))
        }
        rows = parsed
    }

    public var count: Int { rows.count }

    /// The card's keys: the row whose ICCID or KDD is the card's, where no
    /// identity the row fills in contradicts the card (a row with the card's
    /// KDD but another ICCID is not the card's). `decrypt` undoes the column
    /// encryption (nil: plain table).
    public func keys(iccid: String?, kdd: [UInt8],
                     decrypt: (([UInt8]) throws -> [UInt8])?) throws -> SCP03Keys {
        let cardICCID = iccid?.uppercased()
        let row = rows.first { row in
            let iccidMatches = row.iccid != nil && row.iccid == cardICCID
            let kddMatches = row.kdd == kdd
            let contradicted = (row.iccid != nil && cardICCID != nil && row.iccid != cardICCID)
                || (row.kdd != nil && row.kdd != kdd)
            return (iccidMatches || kddMatches) && !contradicted
        }
        guard let row else {
            if !lookupColumns.contains(.kdd) && cardICCID == nil { throw KeyTableError.noIdentity(path: path) }
            throw KeyTableError.cardNotInTable(path: path, card: iccid.map { "ICCID \($0), KDD \(Hex.encode(kdd))" }
                                               ?? "KDD \(Hex.encode(kdd))")
        }
        func key(_ cell: HexCell, _ name: String) throws -> SecretBytes {
            var bytes = cell.bytes.withBytes(Self.decodeCheckedHex)
            defer { Secure.wipe(&bytes) }
            guard let decrypt else { return SecretBytes(bytes) }
            do {
                var plain = try decrypt(bytes)
                return SecretBytes(wiping: &plain)
            } catch let error as PKCS11Error {
                throw error
            } catch {
                throw KeyTableError.malformed(path: path, line: row.line, reason: "\(name) cannot be decrypted: \(error)")
            }
        }
        do {
            return try SCP03Keys(version: row.version, enc: key(row.enc, "ENC"), mac: key(row.mac, "MAC"),
                                 dek: key(row.dek, "DEK"))
        } catch let error as SecureChannelError {
            throw KeyTableError.malformed(path: path, line: row.line, reason: "\(error)")
        }
    }

    /// Hex digits (checked when the table was read) to bytes, without a
    /// String copy that could not be wiped.
    static func decodeCheckedHex(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        func nibble(_ digit: UInt8) -> UInt8 { digit <= 0x39 ? digit - 0x30 : (digit | 0x20) - 0x61 + 10 }
        return stride(from: 0, to: text.count - 1, by: 2).map { nibble(text[$0]) << 4 | nibble(text[$0 + 1]) }
    }

    /// pySim's CardKeyFieldCryptor IV: 16 bytes of 0x23.
    public static let columnIV = [UInt8](repeating: 0x23, count: 16)
}

public enum KeyTableError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, line: Int, reason: String)
    case noIdentity(path: String)
    case cardNotInTable(path: String, card: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "key table \(path): \(reason)"
        case .malformed(let path, let line, let reason): return "key table \(path), line \(line): \(reason)"
        case .noIdentity(let path): return "key table \(path) is keyed by ICCID, but the card's ICCID is not known"
        case .cardNotInTable(let path, let card): return "key table \(path) has no row for the card (\(card)); nothing was sent after INITIALIZE UPDATE"
        }
    }
}

/// RFC 4180 records: comma-separated fields, optionally in double quotes
/// with "" for a quote, CRLF or LF line ends. Blank lines are skipped.
enum CSVReader {
    struct Record {
        var fields: [[UInt8]]
        let line: Int
    }

    static func records(_ data: [UInt8], path: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var quoted = false
        var line = 1
        var recordLine = 1
        var index = 0
        func endRecord() {
            fields.append(field)
            field = []
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(fields: fields, line: recordLine)) }
            fields = []
        }
        while index < data.count {
            let byte = data[index]
            if quoted {
                if byte == 0x22 {
                    if index + 1 < data.count && data[index + 1] == 0x22 {
                        field.append(0x22)
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case 0x22 where field.isEmpty: quoted = true
                case 0x2C:
                    fields.append(field)
                    field = []
                case 0x0D: break
                case 0x0A:
                    endRecord()
                    line += 1
                    recordLine = line
                default: field.append(byte)
                }
            }
            index += 1
        }
        if quoted { throw KeyTableError.malformed(path: path, line: recordLine, reason: "a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}
