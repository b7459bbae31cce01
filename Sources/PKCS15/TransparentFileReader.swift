import APDU
import CardTransport

/// Reads transparent EFs of the application: one SELECT (FCP requested, to
/// learn the size without a probing read), then READ BINARY in the largest
/// chunks the channel carries. It remembers the selected EF, so a second
/// range of the same EF costs no SELECT.
public final class TransparentFileReader {
    private let channel: CardChannel
    private let applicationPath: [UInt8]?
    /// Largest plain response one READ BINARY may ask for.
    public let chunkLength: Int
    private var selected: (path: [UInt8], size: Int?)?

    public init(channel: CardChannel, applicationPath: [UInt8]?, chunkLength: Int) {
        self.channel = channel
        self.applicationPath = applicationPath
        self.chunkLength = max(1, min(chunkLength, 0x7FFF))
    }

    /// The bytes `path` names: its index/length range, or the whole EF.
    ///
    /// Directory files (ODF, TokenInfo, DODF) come back whole: DER may end in
    /// 00 (an empty BIT STRING `03 01 00`, a path to EF 4400) and the BER
    /// reader already stops at padding. A bootstrap `document` without a
    /// length in its Path is read only until it is complete (WBXML's root
    /// element closed, or the first byte XML cannot contain), so the padding
    /// after it costs no READ BINARY; when its end cannot be told, the whole
    /// EF is read and trailing FF/00 padding is dropped.
    public func read(_ path: PKCS15Path, document: Bool = false) throws -> [UInt8] {
        let size = try select(path.path)
        let start = path.index ?? 0
        var wanted = path.length
        if wanted == nil, let size { wanted = max(0, size - start) }
        if let wanted, let size, start + wanted > size {
            throw PKCS15Error.fileShorterThanDeclared(path: "\(path)", declared: start + wanted, actual: size)
        }
        let findsEnd = document && path.length == nil
        var documentEnd: Int?
        var content = try BinaryReading.read(over: channel, file: "\(path)", start: start, wanted: wanted,
                                             chunkLength: chunkLength) { read in
            if findsEnd, case .complete(let length) = DocumentBoundary.find(in: read) { documentEnd = length }
            return documentEnd != nil
        }
        if let documentEnd { return Array(content.prefix(documentEnd)) }
        if let wanted, content.count < wanted {
            throw PKCS15Error.fileShorterThanDeclared(path: "\(path)", declared: start + wanted, actual: start + content.count)
        }
        if findsEnd, let end = content.lastIndex(where: { $0 != 0xFF && $0 != 0x00 }) {
            content.removeSubrange((end + 1)...)
        }
        return content
    }

    /// Selects an EF unless it is the one selected last; returns its size when the FCP gives it.
    private func select(_ path: [UInt8]) throws -> Int? {
        if let selected, selected.path == path { return selected.size }
        let command: (ISOCommand.SelectResponse) -> CommandAPDU
        if path.count >= 2 && path[0] == 0x3F && path[1] == 0x00 {
            // An absolute path is checked against the application DF when the
            // card told where it is; a card whose FCI has no tag 83 did not,
            // and its absolute paths are taken as they are.
            if let applicationPath, !(path.starts(with: applicationPath) && path.count > applicationPath.count) {
                throw PKCS15Error.pathOutsideApplication(path: "\(PKCS15Path(path: path))")
            }
            command = { ISOCommand.selectPath(Array(path.dropFirst(2)), fromMF: true, response: $0) }
        } else if path.count == 2 {
            command = { ISOCommand.selectFile(UInt16(path[0]) << 8 | UInt16(path[1]), response: $0) }
        } else {
            command = { ISOCommand.selectPath(path, fromMF: false, response: $0) }
        }
        // FCP first (the size costs no probing read), then FCI, then no data:
        // a card that refuses P2 04 for an EF is read all the same.
        let response = try channel.select(command)
        guard response.status == .success || response.status.isWarning else {
            throw CardStatusError("SELECT \(PKCS15Path(path: path))", response.status)
        }
        let parameters = FileControlParameters(bytes: response.data)
        if parameters.isRecordFile { throw PKCS15Error.recordReferenceUnsupported(path: "\(PKCS15Path(path: path))") }
        selected = (path, parameters.size)
        return parameters.size
    }
}

/// READ BINARY of the selected EF, chunk after chunk. ISO/IEC 7816-4 (5.1:
/// Ne is the most the card may send; 11.3.3 READ BINARY) lets a card answer
/// fewer bytes than asked with 9000, so a short chunk moves the offset on and
/// does not end the file: only the size (FCP or Path), 6282 ("end of file
/// reached before reading Ne bytes", table 6), 6B00 past the first chunk
/// ("wrong parameters P1-P2": the offset is beyond the end) or an empty answer do.
enum BinaryReading {
    /// Reads from `start` until `wanted` bytes are in (when known) or the
    /// card ends the file; `enough` may stop earlier (a document whose end was found).
    static func read(over channel: CardChannel, file: String, start: Int, wanted: Int?, chunkLength: Int,
                     enough: ([UInt8]) -> Bool = { _ in false }) throws -> [UInt8] {
        var content: [UInt8] = []
        while wanted.map({ content.count < $0 }) ?? true {
            let offset = start + content.count
            guard offset <= 0x7FFF else {
                if wanted == nil { break }
                throw PKCS15Error.invalidValue(file: file, offset: offset, reason: "offsets past 32767 are not supported")
            }
            let asked = min(chunkLength, (wanted ?? Int.max) - content.count, 0x8000 - offset)
            let response = try channel.transmit(ISOCommand.readBinary(offset: offset, length: asked))
            if response.status == StatusWord(0x6B00) && offset > start { break }
            guard response.status == .success || response.status == StatusWord(0x6282) else {
                throw CardStatusError("READ BINARY of \(file) at offset \(offset)", response.status)
            }
            // A card that sends more than asked does not move the offset past what was read.
            content += response.data.prefix(asked)
            if enough(content) { break }
            if response.data.isEmpty || response.status == StatusWord(0x6282) { break }
        }
        return content
    }
}

/// What an FCP (62) or FCI (6F) template says of a file: an EF's size
/// (80/81) and structure (82), a DF's file identifier (83) and name (84),
/// ISO/IEC 7816-4 table 12.
struct FileControlParameters {
    var size: Int?
    var isRecordFile = false
    /// No file descriptor (82) in the answer: the structure is not known.
    var isUnknown = true
    var fileID: [UInt8]?
    var dfName: [UInt8]?

    init(bytes: [UInt8]) {
        var reader = BERReader(bytes, file: "FCP")
        guard let template = try? reader.next(), template.tag == 0x62 || template.tag == 0x6F,
              var inner = try? reader.children(of: template) else { return }
        while let element = try? inner.next() {
            switch element.tag {
            case 0x80, 0x81:
                if size == nil, (1...4).contains(element.value.count) {
                    size = element.value.reduce(0) { $0 << 8 | Int($1) }
                }
            case 0x82:
                isUnknown = element.value.isEmpty
                if let descriptor = element.value.first { isRecordFile = descriptor & 0x07 >= 0x02 && descriptor & 0x38 != 0x38 }
            case 0x83 where element.value.count == 2:
                fileID = element.bytes
            case 0x84 where element.value.count <= 16:
                dfName = element.bytes
            default:
                continue
            }
        }
    }
}
