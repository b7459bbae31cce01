/// Decodes bootstrap bytes of any supported kind into accounts: WBXML or XML
/// encoding, SyncML DM, TNDS or Client Provisioning document. It does not
/// care where the bytes came from (card, push, file).
public struct BootstrapDecoder {
    public enum Format: String, CaseIterable, Sendable {
        /// Detect the encoding from the first byte and the type from the root element.
        case auto
        case wbxml, xml
        /// A TNDS MgmtTree, in either encoding.
        case tnds
        /// A Client Provisioning document, in either encoding.
        case cp
    }

    public init() {}

    public func decode(_ bytes: [UInt8], format: Format = .auto) throws -> DecodedBootstrap {
        let encoding: DecodedBootstrap.Encoding
        switch format {
        case .wbxml: encoding = .wbxml
        case .xml: encoding = .xml
        case .auto, .tnds, .cp: encoding = try Self.detectEncoding(bytes)
        }
        let document = encoding == .wbxml ? try WBXMLDecoder().decode(bytes) : try XMLReader().decode(bytes)
        let decoded: DecodedBootstrap
        switch document.root.name {
        case "SyncML": decoded = try SyncMLReader().read(document, encoding: encoding)
        case "MgmtTree": decoded = try TNDSReader().read(document, encoding: encoding)
        case "wap-provisioningdoc": decoded = try ClientProvisioningReader().read(document, encoding: encoding)
        default: throw BootstrapError.notABootstrap(root: document.root.name)
        }
        try DecodingLimits.check(decoded.accounts)
        if format == .tnds && decoded.documentType != .tnds || format == .cp && decoded.documentType != .clientProvisioning {
            throw BootstrapError.formatMismatch(requested: format.rawValue, found: decoded.documentType.rawValue)
        }
        return decoded
    }

    /// WBXML starts with its version byte (01-03); XML with '<', white space or a BOM.
    static func detectEncoding(_ bytes: [UInt8]) throws -> DecodedBootstrap.Encoding {
        guard let first = bytes.first else { throw BootstrapError.unknownFormat }
        if (0x01...0x03).contains(first) { return .wbxml }
        if first == UInt8(ascii: "<") || first == 0xEF || first == 0xFE || first == 0xFF
            || [0x20, 0x09, 0x0A, 0x0D].contains(first) {
            return .xml
        }
        throw BootstrapError.unknownFormat
    }
}
