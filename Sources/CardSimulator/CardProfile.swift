import APDU
import Foundation

/// What a virtual card is: its ATR, how it speaks, and its files. Tests and
/// users describe cards in this JSON form (documented in dmboot(1), SIMULATOR
/// PROFILES) so that scripts can be dry-run with no hardware.
public struct CardProfile: Codable, Equatable, Sendable {
    public var name: String
    /// Hex ATR the card gives on reset.
    public var atr: String
    /// "none": whole responses at once (T=1 style); "t0": every response with
    /// data goes through 61xx and GET RESPONSE, as on a T=0 card.
    public var responseChaining: ResponseChaining
    /// How READ BINARY answers when Le asks for more than the file has left.
    public var shortRead: ShortRead
    /// Whether extended-length APDUs are accepted.
    public var extendedLength: Bool
    /// Largest response data the card returns to one command.
    public var maxResponseLength: Int
    /// SELECT as a UICC takes it (ETSI TS 102 221 table 11.2): P2 04 or 0C
    /// only, 6A86 for P2 00.
    public var strictSelectP2: Bool
    /// FCI/FCP without the file identifier (83), as some UICC applications
    /// answer; the host then cannot tell where the application DF is.
    public var omitsFileIDInFCI: Bool
    /// SELECT of a file by id or path answered 6A86 when P2 asks for the FCP
    /// (04); FCI (00) and no data (0C) work, as on ISO cards that predate FCP.
    public var refusesFCPForFiles: Bool
    /// How many plain bytes a READ BINARY under secure messaging reads.
    public var protectedReadLength: ProtectedReadLength
    /// The card's SCP03 security domain; `nil` for a card without one.
    public var scp03: SecureDomainProfile?
    /// A PKCS#15 application built into `files` when the card is made.
    public var pkcs15: PKCS15ImageProfile?
    /// The card's PINs, with their PUKs and retry counters.
    public var pins: [PINProfile]?
    public var files: FileNode

    public enum ResponseChaining: String, Codable, Sendable { case none, t0 }
    public enum ProtectedReadLength: String, Codable, Sendable {
        /// As many as the session can protect in one answer (239 at level 33 for Le 00).
        case fitted
        /// As many as the wire Le says (Le 00: 256, as Java Card's
        /// `APDU.setOutgoing()` gives); a protected answer over 256 bytes in a
        /// short APDU is 6700, and the security domain ends the session.
        case wireLe = "wire-le"
        /// As wire-le, but 6Cxx names the largest Le that fits; the session stays.
        case wrongLength = "6Cxx"
    }
    public enum ShortRead: String, Codable, Sendable {
        /// Return what is left with 6282 (end of file reached before Ne bytes).
        case warning
        /// Answer 6Cxx with the number of bytes left, data only on the retry.
        case wrongLength = "6Cxx"
    }

    public init(name: String, atr: String, responseChaining: ResponseChaining = .none,
                shortRead: ShortRead = .warning, extendedLength: Bool = true,
                maxResponseLength: Int = 4096, strictSelectP2: Bool = false, omitsFileIDInFCI: Bool = false,
                refusesFCPForFiles: Bool = false, protectedReadLength: ProtectedReadLength = .fitted, scp03: SecureDomainProfile? = nil, pkcs15: PKCS15ImageProfile? = nil, files: FileNode) {
        self.strictSelectP2 = strictSelectP2
        self.omitsFileIDInFCI = omitsFileIDInFCI
        self.refusesFCPForFiles = refusesFCPForFiles
        self.protectedReadLength = protectedReadLength
        self.name = name
        self.atr = atr
        self.responseChaining = responseChaining
        self.shortRead = shortRead
        self.extendedLength = extendedLength
        self.maxResponseLength = maxResponseLength
        self.scp03 = scp03
        self.pkcs15 = pkcs15
        self.files = files
    }

    enum CodingKeys: String, CodingKey {
        case name, atr, responseChaining, shortRead, extendedLength, maxResponseLength, strictSelectP2, omitsFileIDInFCI
        case refusesFCPForFiles, protectedReadLength, scp03, pkcs15, pins, files
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        atr = try container.decode(String.self, forKey: .atr)
        responseChaining = try container.decodeIfPresent(ResponseChaining.self, forKey: .responseChaining) ?? .none
        shortRead = try container.decodeIfPresent(ShortRead.self, forKey: .shortRead) ?? .warning
        extendedLength = try container.decodeIfPresent(Bool.self, forKey: .extendedLength) ?? true
        maxResponseLength = try container.decodeIfPresent(Int.self, forKey: .maxResponseLength) ?? 4096
        strictSelectP2 = try container.decodeIfPresent(Bool.self, forKey: .strictSelectP2) ?? false
        omitsFileIDInFCI = try container.decodeIfPresent(Bool.self, forKey: .omitsFileIDInFCI) ?? false
        refusesFCPForFiles = try container.decodeIfPresent(Bool.self, forKey: .refusesFCPForFiles) ?? false
        protectedReadLength = try container.decodeIfPresent(ProtectedReadLength.self, forKey: .protectedReadLength) ?? .fitted
        scp03 = try container.decodeIfPresent(SecureDomainProfile.self, forKey: .scp03)
        pkcs15 = try container.decodeIfPresent(PKCS15ImageProfile.self, forKey: .pkcs15)
        pins = try container.decodeIfPresent([PINProfile].self, forKey: .pins)
        files = try container.decode(FileNode.self, forKey: .files)
    }

    /// Loads a profile; `content` paths in it are read relative to the profile's folder.
    public static func load(from url: URL) throws -> CardProfile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ProfileError.unreadable(url.path, reason: error.localizedDescription)
        }
        do {
            var profile = try JSONDecoder().decode(CardProfile.self, from: data)
            try profile.files.resolveContentFiles(relativeTo: url.deletingLastPathComponent())
            try profile.pkcs15?.resolveContentFiles(relativeTo: url.deletingLastPathComponent())
            try profile.validate()
            return profile
        } catch let error as ProfileError {
            throw error
        } catch {
            throw ProfileError.malformed(url.path, reason: "\(error)")
        }
    }

    public func validate() throws {
        do {
            _ = try ATR(bytes: try Hex.decode(atr))
        } catch {
            throw ProfileError.invalid("atr: \(error)")
        }
        guard files.fid == "3F00" else { throw ProfileError.invalid("the root of files must be the MF, 3F00") }
        try files.validate(path: "3F00")
        _ = try scp03?.endpointConfiguration()
        _ = try CardPINs(pins ?? [])
        _ = try fileSystem()
    }

    /// The MF with the PKCS#15 application (and its EF(DIR) record) built in.
    public func fileSystem() throws -> FileNode {
        guard let pkcs15 else { return files }
        let (application, record) = try pkcs15.files()
        var root = files
        var children = root.children ?? []
        guard !children.contains(where: { $0.fid.uppercased() == application.fid.uppercased() }) else {
            throw ProfileError.invalid("pkcs15: the files already have a DF \(application.fid)")
        }
        children.append(application)
        if pkcs15.inDirectory != false {
            if pkcs15.transparentDirectory == true {
                // OpenSC dir.c reads a transparent EF(DIR): templates back to back, then padding.
                guard !children.contains(where: { $0.fid.uppercased() == "2F00" }) else {
                    throw ProfileError.invalid("pkcs15: transparentDirectory builds EF(DIR) itself; the files already have 2F00")
                }
                children.insert(FileNode(fid: "2F00", content: record, size: record.count / 2 + 32), at: 0)
            } else if let index = children.firstIndex(where: { $0.fid.uppercased() == "2F00" }) {
                children[index].records = (children[index].records ?? []) + [record]
            } else {
                children.insert(FileNode(fid: "2F00", records: [record]), at: 0)
            }
        }
        root.children = children
        return root
    }
}

/// A DF or an EF. A node with `children` is a DF; one with `content`,
/// `contentFile` or `records` is an EF.
public struct FileNode: Codable, Equatable, Sendable {
    /// Two-byte file identifier in hex.
    public var fid: String
    /// DF name (AID) in hex, for SELECT by name.
    public var aid: String?
    /// Whether SELECT by DF name reaches this DF (true); false keeps the AID
    /// for the secure channel but hides it from SELECT, as on cards where only
    /// EF(DIR) leads to the application.
    public var selectableByName: Bool?
    public var children: [FileNode]?
    /// Transparent EF content in hex.
    public var content: String?
    /// Transparent EF content from a file, relative to the profile.
    public var contentFile: String?
    /// Size of a transparent EF when larger than its content; the rest is `padding`.
    public var size: Int?
    /// Padding byte in hex after the content (FF by default, as on real cards).
    public var padding: String?
    /// Linear fixed EF records in hex.
    public var records: [String]?
    /// Short EF identifier (1-30), for READ BINARY by SFI.
    public var sfi: Int?
    /// Security level (hex, e.g. "33") a secure channel must have for this EF
    /// to be read; below it the card answers 6982.
    public var readLevel: String?
    /// Security level (hex) a secure channel must have for UPDATE BINARY of
    /// this EF; below it the card answers 6982.
    public var updateLevel: String?
    /// Reference (hex, e.g. "01") of a PIN that must be verified before
    /// UPDATE BINARY of this EF; unverified, the card answers 6982.
    public var updatePIN: String?

    public init(fid: String, aid: String? = nil, children: [FileNode]? = nil, content: String? = nil,
                size: Int? = nil, records: [String]? = nil, sfi: Int? = nil, readLevel: String? = nil) {
        self.fid = fid
        self.aid = aid
        self.children = children
        self.content = content
        self.size = size
        self.records = records
        self.sfi = sfi
        self.readLevel = readLevel
    }

    public var isDF: Bool { children != nil }

    mutating func resolveContentFiles(relativeTo folder: URL) throws {
        if let contentFile {
            let url = contentFile.hasPrefix("/") ? URL(fileURLWithPath: contentFile)
                : folder.appendingPathComponent(contentFile)
            guard let data = try? Data(contentsOf: url) else {
                throw ProfileError.unreadable(url.path, reason: "contentFile of EF \(fid) cannot be read")
            }
            content = Hex.encode([UInt8](data))
            self.contentFile = nil
        }
        if var children {
            for index in children.indices {
                try children[index].resolveContentFiles(relativeTo: folder)
            }
            self.children = children
        }
    }

    func validate(path: String) throws {
        guard let id = try? Hex.decode(fid), id.count == 2 else {
            throw ProfileError.invalid("\(path): fid \"\(fid)\" is not two hex bytes")
        }
        let kinds = [children != nil, content != nil || contentFile != nil || size != nil, records != nil]
        guard kinds.filter({ $0 }).count == 1 else {
            throw ProfileError.invalid("\(path): a file is a DF (children), a transparent EF (content/size) or a record EF (records), exactly one")
        }
        if let content { _ = try hex(content, field: "content", path: path) }
        if let updateLevel { _ = try hex(updateLevel, field: "updateLevel", path: path) }
        if let updatePIN { _ = try hex(updatePIN, field: "updatePIN", path: path) }
        if let aid { _ = try hex(aid, field: "aid", path: path) }
        if let records { for record in records { _ = try hex(record, field: "records", path: path) } }
        if let size, let content, size < content.count / 2 {
            throw ProfileError.invalid("\(path): size \(size) is smaller than the content")
        }
        for child in children ?? [] {
            try child.validate(path: "\(path)/\(child.fid)")
        }
    }

    private func hex(_ text: String, field: String, path: String) throws -> [UInt8] {
        do { return try Hex.decode(text) } catch {
            throw ProfileError.invalid("\(path): \(field): \(error)")
        }
    }
}

public enum ProfileError: Error, Equatable, CustomStringConvertible {
    case unreadable(String, reason: String)
    case malformed(String, reason: String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read card profile \(path): \(reason)"
        case .malformed(let path, let reason): return "card profile \(path) is not valid JSON for a profile: \(reason)"
        case .invalid(let reason): return "card profile is inconsistent: \(reason)"
        }
    }
}
