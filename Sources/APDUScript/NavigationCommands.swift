import APDU
import CardTransport
import PKCS15
import TerminalText

/// `select aid|fid|path`, `cd` and `select NAME`: moving around the card,
/// and following where each channel is so the prompt and `ls` can tell.
struct NavigationCommands {
    let connection: CardConnection
    let exchanger: CardExchanger
    let recorder: TranscriptRecorder

    /// Names `cd`, `select` and `cat` understand here, for completion.
    var names: [String] {
        var names = WellKnownName.all.map(\.name) + ["..", "/"]
        if let directory = connection.currentSession?.pkcs15 {
            names += directory.objects.compactMap(\.label)
        }
        return names
    }

    /// `select aid|fid|path HEX`: the card's raw answer. An AID with `expect`
    /// goes with P2 04 alone, so the status checked is the card's answer to
    /// that; without, a refused P2 falls back as dmboot's reader does (`selectApplication`).
    func select(kind: Statement.SelectKind, bytes: [UInt8], expect: String?) throws {
        let session = try connection.session()
        let command: CommandAPDU
        switch kind {
        case .aid:
            command = ISOCommand.selectApplication(bytes)
        case .fid:
            guard bytes.count == 2 else { throw ScriptFailure.invalidArgument("a file id is 2 bytes") }
            command = ISOCommand.selectFile(UInt16(bytes[0]) << 8 | UInt16(bytes[1]), returnFCP: true)
        case .path:
            let fromMF = bytes.starts(with: [0x3F, 0x00])
            command = ISOCommand.selectPath(fromMF ? Array(bytes.dropFirst(2)) : bytes, fromMF: fromMF, returnFCP: true)
        }
        if kind == .aid && session.secure != nil {
            recorder.say("(selecting an application ends the secure channel session)")
            session.endSecureChannel()
        }
        let response = kind == .aid && expect == nil
            ? try selectApplication(bytes, over: session.transport)
            : try exchanger.exchange(command, expect: expect)
        exchanger.lastKind = .fcp
        guard response.status == .success || response.status.isWarning else { return }
        let parameters = try? FileControlParameters(bytes: response.data)
        switch kind {
        case .aid:
            session.enterApplication(bytes, name: WellKnownName.applicationName(bytes))
        case .fid, .path:
            session.location.moved(to: Hex.encode(bytes), parameters: parameters, fromMF: kind == .path && bytes.starts(with: [0x3F, 0x00]))
        }
    }

    /// `cd` / `select NAME`: a well-known name, a DODF label, a file id, an AID, `..` or `/`.
    func navigate(to name: String) throws {
        let session = try connection.session()
        let target = try resolve(name, in: session)
        if target.endsSession && session.secure != nil {
            recorder.say("(selecting an application ends the secure channel session)")
            session.endSecureChannel()
        }
        let response: ResponseAPDU
        if target.command.ins == 0xA4 && target.command.p1 == 0x04 {
            response = try selectApplication(target.command.data, over: session.transport)
        } else {
            response = try session.transport.transmit(target.command)
            exchanger.remember(response)
            recorder.current?.command = target.command.description
            exchanger.report(target.command, response)
        }
        exchanger.lastKind = .fcp
        guard response.status == .success || response.status.isWarning else {
            throw CardStatusError("SELECT \(name)", response.status)
        }
        let parameters = try? FileControlParameters(bytes: response.data)
        if let parameters, !exchanger.isSensitive(response.data) { recorder.say("  \(parameters.summary)") }
        target.apply(session, parameters)
        // Entering PKCS#15 reads its directory files, so labels complete at once.
        if target.endsSession && session.location.application == PKCS15Application.standardAID {
            _ = try? session.pkcs15Directory()
        }
    }

    /// SELECT by DF name in the first form the card takes
    /// (`CardChannel.selectApplication`: P2 04, then 00, then 0C, on 6A86 or
    /// 6B00 only, as OpenSC's iso7816.c and dmboot's reader do). Every answer
    /// is shown raw, and a fallback is said.
    private func selectApplication(_ aid: [UInt8], over transport: CardChannel) throws -> ResponseAPDU {
        var sent: [(CommandAPDU, ResponseAPDU)] = []
        let response = try transport.selectApplication(aid) { command, answer in
            sent.append((command, answer))
            exchanger.report(command, answer)
        }
        exchanger.remember(response)
        recorder.current?.command = sent.last.map { $0.0.description }
        if let first = sent.first, let last = sent.last, sent.count > 1 {
            recorder.say("(the card refused SELECT with P2 \(Hex.encode([first.0.p2])) (\(first.1.status.hex)); "
                + "\(last.1.status == .success ? "selected" : "answered \(last.1.status.hex)") with P2 \(Hex.encode([last.0.p2])), the fallback dmboot uses)")
        }
        return response
    }

    private func resolve(_ name: String, in session: ChannelSession) throws -> NavigationTarget {
        if name == "/" || name.uppercased() == "MF" || name.uppercased() == "3F00" {
            return NavigationTarget(command: ISOCommand.selectFile(0x3F00, returnFCP: true)) { session, _ in
                session.location = Location()
            }
        }
        if name == ".." {
            return NavigationTarget(command: CommandAPDU(cla: 0x00, ins: 0xA4, p1: 0x03, p2: 0x04, expectedLength: 256)) { session, _ in
                session.location.up()
            }
        }
        if let known = WellKnownName.find(name) {
            return try resolve(known, in: session)
        }
        if session.location.application == PKCS15Application.standardAID || session.pkcs15 != nil {
            if let directory = try? session.pkcs15Directory(),
               let entry = directory.objects.first(where: { $0.label?.lowercased() == name.lowercased() }) {
                guard case .path(let path)? = entry.value else {
                    throw ScriptFailure.invalidArgument("\"\(name)\" has its value inside the DODF; decode dodf shows it")
                }
                let kind: CardDecoder.Kind? = PKCS15Navigator(application: directory.application).classify(entry) == .dm ? .bootstrap : nil
                return NavigationTarget(command: NavigationTarget.selectCommand(path.path)) { session, parameters in
                    session.location.select(ef: entry.label ?? name, kind: kind, parameters: parameters)
                }
            }
        }
        if let bytes = try? Hex.decode(name) {
            if bytes.count == 2 {
                let fid = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
                return NavigationTarget(command: ISOCommand.selectFile(fid, returnFCP: true)) { session, parameters in
                    session.location.moved(to: Hex.encode(bytes), parameters: parameters, fromMF: false)
                }
            }
            if (5...16).contains(bytes.count) {
                return NavigationTarget(command: ISOCommand.selectApplication(bytes), endsSession: true) { session, _ in
                    session.enterApplication(bytes, name: WellKnownName.applicationName(bytes))
                }
            }
        }
        let known = names.filter { $0 != ".." && $0 != "/" }
        let close = known.min { ScriptParser.editDistance(name.lowercased(), $0.lowercased()) < ScriptParser.editDistance(name.lowercased(), $1.lowercased()) }
        let hint = close.map { candidate -> String in
            guard ScriptParser.editDistance(name.lowercased(), candidate.lowercased()) <= 3 else { return "" }
            return "; did you mean \(candidate.contains(" ") ? "\"\(candidate)\"" : candidate)?"
        } ?? ""
        throw ScriptFailure.invalidArgument("no file named \"\(TerminalText.escape(name))\" here\(hint) (ls lists what the card holds; a file id is 4 hex digits, an AID 10 to 32)")
    }

    private func resolve(_ known: WellKnownName, in session: ChannelSession) throws -> NavigationTarget {
        switch known.target {
        case .application(let aid):
            return NavigationTarget(command: ISOCommand.selectApplication(aid), endsSession: true) { session, _ in
                session.enterApplication(aid, name: known.name)
            }
        case .fromMF(let path):
            return NavigationTarget(command: ISOCommand.selectPath(path, fromMF: true, returnFCP: true)) { session, parameters in
                session.location = Location()
                session.location.select(ef: known.name, kind: known.kind, parameters: parameters)
            }
        case .inApplication(let fid):
            guard session.location.application == PKCS15Application.standardAID || session.location.dfNames.last == "PKCS15" else {
                throw ScriptFailure.invalidArgument("\(known.name) is inside the PKCS#15 application: cd PKCS15 first")
            }
            return NavigationTarget(command: ISOCommand.selectFile(fid, returnFCP: true)) { session, parameters in
                session.location.select(ef: known.name, kind: known.kind, parameters: parameters)
            }
        case .dataObjectDirectory:
            let directory = try session.pkcs15Directory()
            guard let path = directory.odf.dataObjectDirectories.first else {
                throw ScriptFailure.invalidArgument("the ODF names no DODF")
            }
            return NavigationTarget(command: NavigationTarget.selectCommand(path.path)) { session, parameters in
                session.location.select(ef: "DODF", kind: .dodf, parameters: parameters)
            }
        }
    }
}
