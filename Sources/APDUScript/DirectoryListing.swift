import APDU
import CardSession
import CardTransport
import PKCS15
import TerminalText

/// `ls` and `pkcs15`: what the current DF holds, as far as the card tells
/// (EF.DIR at the MF; ODF, TokenInfo and DODF entries in a PKCS#15 application).
struct DirectoryListing {
    let connection: CardConnection
    let recorder: TranscriptRecorder

    func list() throws {
        let session = try connection.session()
        if session.location.dfNames.isEmpty {
            try listMasterFile(session)
        } else if session.location.application != nil {
            try listApplication(session)
        } else {
            recorder.say("the card gives no directory of DF \(session.location.display); select files by id (select fid 6F07)")
        }
    }

    /// The PKCS#15 application as `dmboot read` finds it, without reading the objects' values.
    func listPKCS15() throws {
        let session = try connection.session()
        if session.secure != nil {
            recorder.say("(listing selects the PKCS#15 application in clear, which ends the secure channel session)")
            session.endSecureChannel()
        }
        guard let channel = session.link as? ISO7816Channel else {
            throw ScriptFailure.invalidArgument("pkcs15 runs on the basic channel; use cd PKCS15 and ls on channel \(connection.channelNumber)")
        }
        var reader = BootstrapReader(keys: nil)
        reader.readsObjects = false
        let contents = try reader.read(over: channel, atr: connection.atr).contents
        session.enterApplication(contents.application.applicationID, name: "PKCS15")
        recorder.say("PKCS#15 \(contents.application.applicationID.hexString), serial \(contents.tokenInfo.serialHex)\(contents.tokenInfo.label.map { " \"\(TerminalText.escape($0))\"" } ?? "")")
        let navigator = PKCS15Navigator(application: contents.application)
        for entry in contents.dataObjects {
            var path = "no value"
            if case .path(let value)? = entry.value { path = "\(value)" }
            let role = navigator.classify(entry).map { " [\($0.rawValue.uppercased()) bootstrap]" } ?? ""
            recorder.say("  \(entry.kind.rawValue)  \(TerminalText.escape(entry.label ?? "(no label)"))\(entry.oid.map { "  \($0)" } ?? "")  \(path)\(role)")
        }
    }

    /// The FCP of a file the card lets us select: nil when it refuses, .some(nil) when it gives no FCP.
    private func probe(_ command: CommandAPDU, over channel: CardChannel) throws -> FileControlParameters?? {
        let response = try channel.transmit(command)
        guard response.status == .success || response.status.isWarning else { return .none }
        return .some(try? FileControlParameters(bytes: response.data))
    }

    private func listMasterFile(_ session: ChannelSession) throws {
        let channel = session.transport
        var applications: [DirectoryEntry] = []
        for known in WellKnownName.all {
            guard case .fromMF(let path) = known.target else { continue }
            guard let parameters = try probe(ISOCommand.selectPath(path, fromMF: true, returnFCP: true), over: channel) else { continue }
            recorder.say("  \(padded(known.name)) \(Hex.encode(path))  \(parameters?.summary ?? "(no FCP)")")
            if known.name == "EF.DIR" {
                for number in 1...254 {
                    if Interrupt.take() { throw ScriptFailure.interrupted }
                    let record = try channel.transmit(ISOCommand.readRecord(number))
                    guard record.status == .success else { break }
                    if let entry = try? DirectoryEntry.parse(record: record.data, number: number) { applications.append(entry) }
                }
            }
        }
        session.location.ef = nil
        for application in applications {
            let name = WellKnownName.applicationName(application.applicationID) ?? Hex.encode(application.applicationID)
            recorder.say("  \(padded(name)) \(Hex.encode(application.applicationID))  application\(application.label.map { " \"\(TerminalText.escape($0))\"" } ?? "") (EF.DIR)")
        }
    }

    private func listApplication(_ session: ChannelSession) throws {
        session.pkcs15 = nil
        let directory: PKCS15Directory
        do {
            directory = try session.pkcs15Directory()
        } catch {
            recorder.say("no PKCS#15 structure here (\(error)); select files by id")
            return
        }
        let channel = session.transport
        func line(_ name: String, _ path: [UInt8], _ detail: String) throws {
            let parameters = try probe(NavigationTarget.selectCommand(path), over: channel)
            let shown = name.contains(" ") ? "\"\(TerminalText.escape(name))\"" : TerminalText.escape(name)
            recorder.say("  \(padded(shown)) \(Hex.encode(path))  \(parameters??.summary ?? "not selectable")\(detail)")
        }
        try line("ODF", [0x50, 0x31], "")
        if let info = directory.tokenInfo {
            try line("TokenInfo", [0x50, 0x32], "  serial \(info.serialHex)\(info.label.map { " \"\(TerminalText.escape($0))\"" } ?? "")")
        }
        for entry in directory.odf.entries {
            try line(entry.kind == .dataObjects ? "DODF" : entry.kind.name, entry.path.path, "")
        }
        let navigator = PKCS15Navigator(application: directory.application)
        for entry in directory.objects {
            let role = navigator.classify(entry).map { " [\($0.rawValue.uppercased()) bootstrap]" } ?? ""
            let oid = entry.oid.map { " oid \($0)" } ?? ""
            if case .path(let path)? = entry.value {
                try line(entry.label ?? "(no label)", path.path, "\(oid)\(role)")
            } else {
                recorder.say("  \"\(TerminalText.escape(entry.label ?? ""))\"  direct value in the DODF\(oid)\(role)")
            }
        }
        session.location.ef = nil
    }

    /// A name column ten wide; never cut, because labels are read whole.
    private func padded(_ name: String) -> String { name + String(repeating: " ", count: max(1, 10 - name.count)) }
}
