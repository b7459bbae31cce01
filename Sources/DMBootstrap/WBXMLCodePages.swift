/// Token tables of the WBXML document types dmboot reads, checked against
/// libwbxml's tables (src/wbxml_tables.c) and against Debian's xml2wbxml.
struct WBXMLLanguage: Sendable {
    let name: String
    /// Tag names by code page and token.
    let tags: [UInt8: [UInt8: String]]
    /// Attribute start tokens: name and the value prefix they carry.
    let attributeStarts: [UInt8: [UInt8: (String, String)]]
    /// Attribute value tokens.
    let attributeValues: [UInt8: [UInt8: String]]

    static func forPublicID(_ id: UInt32) -> WBXMLLanguage? {
        switch id {
        case 0x0FD1, 0x0FD3, 0x1201: return .syncML
        case 0x0B: return .provisioning
        default: return nil
        }
    }

    static func forPublicID(_ text: String) -> WBXMLLanguage? {
        let upper = text.uppercased()
        if upper.contains("//DTD SYNCML 1.") { return .syncML }
        if upper.contains("DM-DDF 1.2") || upper.contains("DM_DDF") { return .syncML }
        if upper.contains("//DTD PROV 1.0") { return .provisioning }
        return nil
    }

    static func numberedTable(_ names: [String], from first: UInt8 = 0x05) -> [UInt8: String] {
        var table: [UInt8: String] = [:]
        for (offset, name) in names.enumerated() where !name.isEmpty {
            table[first + UInt8(offset)] = name
        }
        return table
    }

    /// SyncML 1.1 and 1.2 (0x0FD3, 0x1201): page 0 SyncML, page 1 MetInf,
    /// page 2 DM DDF (TNDS). 1.2 only adds tokens 35-3C, which 1.1 never uses.
    static let syncML = WBXMLLanguage(
        name: "SyncML",
        tags: [
            0: numberedTable([
                "Add", "Alert", "Archive", "Atomic", "Chal", "Cmd", "CmdID", "CmdRef", "Copy", "Cred", "Data",
                "Delete", "Exec", "Final", "Get", "Item", "Lang", "LocName", "LocURI", "Map", "MapItem", "Meta",
                "MsgID", "MsgRef", "NoResp", "NoResults", "Put", "Replace", "RespURI", "Results", "Search",
                "Sequence", "SessionID", "SftDel", "Source", "SourceRef", "Status", "Sync", "SyncBody", "SyncHdr",
                "SyncML", "Target", "TargetRef", "", "VerDTD", "VerProto", "NumberOfChanges", "MoreData", "Field",
                "Filter", "Record", "FilterType", "SourceParent", "TargetParent", "Move", "Correlator",
            ]),
            1: numberedTable([
                "Anchor", "EMI", "Format", "FreeID", "FreeMem", "Last", "Mark", "MaxMsgSize", "Mem", "MetInf",
                "Next", "NextNonce", "SharedMem", "Size", "Type", "Version", "MaxObjSize", "FieldLevel",
            ]),
            2: numberedTable([
                "AccessType", "ACL", "Add", "b64", "bin", "bool", "chr", "CaseSense", "CIS", "Copy", "CS", "date",
                "DDFName", "DefaultValue", "Delete", "Description", "DFFormat", "DFProperties", "DFTitle", "DFType",
                "Dynamic", "Exec", "float", "Format", "Get", "int", "Man", "MgmtTree", "MIME", "Mod", "Name", "Node",
                "node", "NodeName", "null", "Occurrence", "One", "OneOrMore", "OneOrN", "Path", "Permanent",
                "Replace", "RTProperties", "Scope", "Size", "time", "Title", "TStamp", "Type", "Value", "VerDTD",
                "VerNo", "xml", "ZeroOrMore", "ZeroOrN", "ZeroOrOne",
            ]),
        ],
        attributeStarts: [:],
        attributeValues: [:])

    /// WAP Provisioning document PROV 1.0 (0x0B) with OMA's page 1 additions.
    static let provisioning = WBXMLLanguage(
        name: "PROV 1.0",
        tags: [
            0: [0x05: "wap-provisioningdoc", 0x06: "characteristic", 0x07: "parm"],
            1: [0x06: "characteristic", 0x07: "parm"],
        ],
        attributeStarts: [
            0: provisioningAttributesPage0,
            1: provisioningAttributesPage1,
        ],
        attributeValues: [
            0: [
                0x85: "IPV4", 0x86: "IPV6", 0x87: "E164", 0x88: "ALPHA", 0x89: "APN", 0x8A: "SCODE",
                0x8B: "TETRA-ITSI", 0x8C: "MAN", 0x90: "ANALOG-MODEM", 0x91: "V.120", 0x92: "V.110", 0x93: "X.31",
                0x94: "BIT-TRANSPARENT", 0x95: "DIRECT-ASYNCHRONOUS-DATA-SERVICE", 0x9A: "PAP", 0x9B: "CHAP",
                0x9C: "HTTP-BASIC", 0x9D: "HTTP-DIGEST", 0x9E: "WTLS-SS", 0x9F: "MD5", 0xA2: "GSM-USSD",
                0xA3: "GSM-SMS", 0xA4: "ANSI-136-GUTS", 0xA5: "IS-95-CDMA-SMS", 0xA6: "IS-95-CDMA-CSD",
                0xA7: "IS-95-CDMA-PACKET", 0xA8: "ANSI-136-CSD", 0xA9: "ANSI-136-GPRS", 0xAA: "GSM-CSD",
                0xAB: "GSM-GPRS", 0xAC: "AMPS-CDPD", 0xAD: "PDC-CSD", 0xAE: "PDC-PACKET", 0xAF: "IDEN-SMS",
                0xB0: "IDEN-CSD", 0xB1: "IDEN-PACKET", 0xB2: "FLEX/REFLEX", 0xB3: "PHS-SMS", 0xB4: "PHS-CSD",
                0xB5: "TRETRA-SDS", 0xB6: "TRETRA-PACKET", 0xB7: "ANSI-136-GHOST", 0xB8: "MOBITEX-MPAK",
                0xB9: "CDMA2000-1X-SIMPLE-IP", 0xBA: "CDMA2000-1X-MOBILE-IP", 0xC5: "AUTOBAUDING", 0xCA: "CL-WSP",
                0xCB: "CO-WSP", 0xCC: "CL-SEC-WSP", 0xCD: "CO-SEC-WSP", 0xCE: "CL-SEC-WTA", 0xCF: "CO-SEC-WTA",
                0xD0: "OTA-HTTP-TO", 0xD1: "OTA-HTTP-TLS-TO", 0xD2: "OTA-HTTP-PO", 0xD3: "OTA-HTTP-TLS-PO",
                0xE0: "AAA", 0xE1: "HA",
            ],
            // AAUTHTYPE pieces sit at 80-83 in OMA ProvCont 1.0 builds of libwbxml
            // and at 90-93 in PROV 1.1 builds (Debian's xml2wbxml); both are read.
            1: [
                0x80: ",", 0x81: "HTTP-", 0x82: "BASIC", 0x83: "DIGEST", 0x86: "IPV6", 0x87: "E164", 0x88: "ALPHA",
                0x8D: "APPSRV", 0x8E: "OBEX", 0x90: ",", 0x91: "HTTP-", 0x92: "BASIC", 0x93: "DIGEST",
            ],
        ])

    private static let provisioningAttributesPage0: [UInt8: (String, String)] = {
        var table: [UInt8: (String, String)] = [
            0x05: ("name", ""), 0x06: ("value", ""), 0x45: ("version", ""), 0x46: ("version", "1.0"),
            0x50: ("type", ""), 0x51: ("type", "PXLOGICAL"), 0x52: ("type", "PXPHYSICAL"), 0x53: ("type", "PORT"),
            0x54: ("type", "VALIDITY"), 0x55: ("type", "NAPDEF"), 0x56: ("type", "BOOTSTRAP"),
            0x57: ("type", "VENDORCONFIG"), 0x58: ("type", "CLIENTIDENTITY"), 0x59: ("type", "PXAUTHINFO"),
            0x5A: ("type", "NAPAUTHINFO"), 0x5B: ("type", "ACCESS"),
        ]
        let names = [
            "NAME", "NAP-ADDRESS", "NAP-ADDRTYPE", "CALLTYPE", "VALIDUNTIL", "AUTHTYPE", "AUTHNAME", "AUTHSECRET",
            "LINGER", "BEARER", "NAPID", "COUNTRY", "NETWORK", "INTERNET", "PROXY-ID", "PROXY-PROVIDER-ID",
            "DOMAIN", "PROVURL", "PXAUTH-TYPE", "PXAUTH-ID", "PXAUTH-PW", "STARTPAGE", "BASAUTH-ID", "BASAUTH-PW",
            "PUSHENABLED", "PXADDR", "PXADDRTYPE", "TO-NAPID", "PORTNBR", "SERVICE", "LINKSPEED", "DNLINKSPEED",
            "LOCAL-ADDR", "LOCAL-ADDRTYPE", "CONTEXT-ALLOW", "TRUST", "MASTER", "SID", "SOC", "WSP-VERSION",
            "PHYSICAL-PROXY-ID", "CLIENT-ID", "DELIVERY-ERR-SDU", "DELIVERY-ORDER", "TRAFFIC-CLASS", "MAX-SDU-SIZE",
            "MAX-BITRATE-UPLINK", "MAX-BITRATE-DNLINK", "RESIDUAL-BER", "SDU-ERROR-RATIO", "TRAFFIC-HANDL-PRIO",
            "TRANSFER-DELAY", "GUARANTEED-BITRATE-UPLINK", "GUARANTEED-BITRATE-DNLINK", "PXADDR-FQDN", "PROXY-PW",
            "PPGAUTH-TYPE",
        ]
        for (offset, name) in names.enumerated() { table[0x07 + UInt8(offset)] = ("name", name) }
        for (token, name) in [(0x47, "PULLENABLED"), (0x48, "DNS-ADDR"), (0x49, "MAX-NUM-RETRY"),
                              (0x4A, "FIRST-RETRY-TIMEOUT"), (0x4B, "REREG-THRESHOLD"), (0x4C, "T-BIT"),
                              (0x4E, "AUTH-ENTITY"), (0x4F, "SPI")] as [(UInt8, String)] {
            table[token] = ("name", name)
        }
        return table
    }()

    private static let provisioningAttributesPage1: [UInt8: (String, String)] = [
        0x05: ("name", ""), 0x06: ("value", ""), 0x07: ("name", "NAME"), 0x14: ("name", "INTERNET"),
        0x1C: ("name", "STARTPAGE"), 0x22: ("name", "TO-NAPID"), 0x23: ("name", "PORTNBR"), 0x24: ("name", "SERVICE"),
        0x2E: ("name", "AACCEPT"), 0x2F: ("name", "AAUTHDATA"), 0x30: ("name", "AAUTHLEVEL"),
        0x31: ("name", "AAUTHNAME"), 0x32: ("name", "AAUTHSECRET"), 0x33: ("name", "AAUTHTYPE"),
        0x34: ("name", "ADDR"), 0x35: ("name", "ADDRTYPE"), 0x36: ("name", "APPID"), 0x37: ("name", "APROTOCOL"),
        0x38: ("name", "PROVIDER-ID"), 0x39: ("name", "TO-PROXY"), 0x3A: ("name", "URI"), 0x3B: ("name", "RULE"),
        0x50: ("type", ""), 0x53: ("type", "PORT"), 0x55: ("type", "APPLICATION"), 0x56: ("type", "APPADDR"),
        0x57: ("type", "APPAUTH"), 0x58: ("type", "CLIENTIDENTITY"), 0x59: ("type", "RESOURCE"),
    ]
}
