import APDU
import CardTransport
import CommandLineSupport
import DMBootstrap
import Foundation
import PKCS15
import TerminalText

/// `update`, `save` and `write-bootstrap`: what changes a card's files, and
/// what keeps what was read. Writes go in the largest chunks the channel
/// carries, through the secure channel when one is open, and only once
/// someone agreed (`ChangeGate`).
struct FileChangeCommands {
    let connection: CardConnection
    let exchanger: CardExchanger
    let variables: ScriptVariables
    let recorder: TranscriptRecorder
    let files: FileCommands
    let navigation: NavigationCommands
    let gate: ChangeGate

    /// The largest EF offset UPDATE BINARY with P1 b8 = 0 reaches (ISO/IEC 7816-4:2005 7.2.2).
    static let maxOffset = 0x7FFF
    /// A document for an EF: far above any bootstrap a card holds.
    static let maxDocument = 0x8000

    /// `update OFFSET HEX` / `update OFFSET file PATH` on the current EF.
    func update(offset text: String, hex: String?, file: String?) throws {
        let offset = try variables.bounded(text, "offset", 0...Self.maxOffset)
        let data: [UInt8]
        if let file {
            data = [UInt8](try InputFile.read(try variables.substitute(file), limit: Self.maxDocument))
        } else {
            data = try Hex.decode(try variables.substitute(hex ?? ""))
        }
        guard !data.isEmpty else { throw ScriptFailure.invalidArgument("update needs at least one byte to write") }
        guard offset + data.count - 1 <= Self.maxOffset else {
            throw ScriptFailure.invalidArgument("\(data.count) bytes at offset \(offset) end past offset \(Self.maxOffset), the last UPDATE BINARY reaches")
        }
        let session = try connection.session()
        guard let ef = session.location.ef else {
            throw ScriptFailure.invalidArgument("no EF is selected: cd or select the EF to update first")
        }
        try gate.approve("write \(data.count) bytes at offset \(offset) of \(ef)")
        let chunks = try write(data, at: offset)
        recorder.say("< wrote \(data.count) bytes at offset \(offset) of \(TerminalText.escape(ef)) in \(chunks) UPDATE BINARY")
    }

    /// `save FILE [NAME]`: the last response's data, or the whole EF NAME,
    /// to a new file only its owner can read.
    func save(path text: String, name: String?) throws {
        let path = try variables.substitute(text)
        if let name {
            try navigation.navigate(to: try variables.substitute(name))
            _ = try files.readWholeEF()
        }
        guard let data = exchanger.lastResponse?.data, !data.isEmpty else {
            throw ScriptFailure.invalidArgument("nothing to save: the last response carried no data (read or cat first, or save FILE NAME)")
        }
        if exchanger.isSensitive(data) {
            throw ScriptFailure.invalidArgument("the card sent these \(data.count) bytes encrypted (R-ENCRYPTION); save them only with --reveal-secrets")
        }
        if FileManager.default.fileExists(atPath: path) {
            try gate.approve("replace \(path)")
        }
        do {
            try PrivateFile.write(Data(data), to: path)
        } catch {
            throw InputFileError.unreadable(path: path, reason: "cannot write it: \(error.localizedDescription)")
        }
        recorder.say("saved \(data.count) bytes to \(TerminalText.escape(path)) (mode 0600)")
    }

    /// `write-bootstrap LABEL FILE`: a DM bootstrap document, checked by the
    /// decoder dmboot reads cards with, into the EF (or the part of it) the
    /// DODF entry LABEL names; the rest of that space is padded with FF so no
    /// tail of the old document stays behind, then read back and compared.
    func writeBootstrap(label text: String, file: String) throws {
        let label = try variables.substitute(text)
        let path = try variables.substitute(file)
        let document = [UInt8](try InputFile.read(path, limit: Self.maxDocument))
        let decoded = try BootstrapDecoder().decode(document)
        let session = try connection.session()
        let directory = try session.pkcs15Directory()
        guard let entry = directory.objects.first(where: { $0.label?.lowercased() == label.lowercased() }) else {
            throw ScriptFailure.invalidArgument("the DODF has no object labelled \"\(TerminalText.escape(label))\" (ls lists them)")
        }
        guard PKCS15Navigator(application: directory.application).classify(entry) == .dm else {
            throw ScriptFailure.invalidArgument("\"\(TerminalText.escape(label))\" is not a DM bootstrap object (oidDO \(PKCS15Navigator.dmBootstrapOID))")
        }
        guard case .path(let location)? = entry.value else {
            throw ScriptFailure.invalidArgument("\"\(TerminalText.escape(label))\" holds its value inside the DODF, not in an EF")
        }
        try navigation.navigate(to: entry.label ?? label)
        let parameters = exchanger.lastResponse.flatMap { try? FileControlParameters(bytes: $0.data) }
        let start = location.index ?? 0
        let capacity: Int
        if let length = location.length {
            capacity = length
        } else if let size = parameters?.size {
            capacity = size - start
        } else {
            throw ScriptFailure.invalidArgument("the card did not give the size of \"\(TerminalText.escape(label))\"'s EF, so a document cannot be checked against it")
        }
        guard document.count <= capacity else {
            throw ScriptFailure.documentTooLarge(label: label, size: document.count, capacity: capacity)
        }
        let image = document + [UInt8](repeating: 0xFF, count: capacity - document.count)
        try gate.approve("write the \(decoded.encoding.rawValue) bootstrap \(path) (\(document.count) bytes, FF-padded to \(capacity)) into \"\(label)\" at offset \(start)")
        let chunks = try write(image, at: start)
        let back = try readBack(count: image.count, at: start)
        guard back == image else { throw ScriptFailure.readBackDiffers(label) }
        recorder.say("< wrote the \(decoded.encoding.rawValue) bootstrap (\(document.count) bytes + \(capacity - document.count) FF) into \(TerminalText.escape(label)) at offset \(start) in \(chunks) UPDATE BINARY; read back equal")
    }

    /// UPDATE BINARY in chunks; a refusal part-way says how much the EF now
    /// holds. Ctrl-C waits for the last chunk: a write is not left half-done by choice.
    private func write(_ data: [UInt8], at offset: Int) throws -> Int {
        let session = try connection.session()
        let room = min(255, session.secure?.maxCommandData ?? 255)
        var written = 0
        var commands = 0
        while written < data.count {
            let chunk = Array(data[written..<min(data.count, written + room)])
            let command = ISOCommand.updateBinary(offset: offset + written, data: chunk)
            let response = try session.transport.transmit(command)
            commands += 1
            exchanger.remember(response)
            guard response.status == .success else {
                let held = written == 0 ? "nothing was written" : "offsets \(offset) to \(offset + written - 1) hold the new data, the rest the old"
                throw CardStatusError("UPDATE BINARY at offset \(offset + written) (\(held))", response.status)
            }
            written += chunk.count
        }
        return commands
    }

    private func readBack(count: Int, at offset: Int) throws -> [UInt8] {
        let session = try connection.session()
        let chunk = min(256, session.secure?.maxResponseData ?? 256)
        var bytes: [UInt8] = []
        while bytes.count < count {
            let response = try session.transport.transmit(
                ISOCommand.readBinary(offset: offset + bytes.count, length: min(chunk, count - bytes.count)))
            guard response.status == .success, !response.data.isEmpty else {
                throw CardStatusError("READ BINARY at offset \(offset + bytes.count)", response.status)
            }
            bytes += response.data
        }
        return Array(bytes.prefix(count))
    }
}
