import APDU
import CardSimulator
import CardTransport
import CardCrypto
import SecureChannel
import XCTest

/// Every recorded session, replayed byte for byte on the host side (with the
/// recorded host challenge injected) and on the card side (with the recorded
/// card challenge).
final class SessionReplayTests: XCTestCase {
    /// Samsung OpenSCP's emulator pads some responses past one block (80 then
    /// 20 zeros for 11 bytes); a strict host rejects that, so these sessions
    /// are replayed with `.lenientResponsePadding` (vectors README, pitfall 7).
    static let lenientPaddingFiles: Set<String> = ["sessions_samsung_openscp.json"]

    func testEveryVectorFileReplaysOnTheHostSide() throws {
        var replayed: [String] = []
        for file in SessionVector.files {
            for vector in try SessionVector.load(file) {
                let extra: SCP03Compatibility = Self.lenientPaddingFiles.contains(file) ? .lenientResponsePadding : []
                try replayHost(vector, extra: extra)
                replayed.append(vector.id)
            }
        }
        XCTAssertEqual(replayed.count, 37, "every session of the 7 files")
    }

    func testEveryVectorFileReplaysOnTheCardSide() throws {
        var replayed = 0
        for file in SessionVector.files {
            for vector in try SessionVector.load(file) {
                try replayCard(vector)
                replayed += 1
            }
        }
        XCTAssertEqual(replayed, 37)
    }

    func testStrictHostRejectsOverlongResponsePadding() throws {
        let vector = try XCTUnwrap(try SessionVector.load("sessions_samsung_openscp.json").first)
        XCTAssertThrowsError(try replayHost(vector, extra: [])) { error in
            XCTAssertEqual(error as? SecureChannelError, .badPadding)
        }
    }

    func replayHost(_ vector: SessionVector, extra: SCP03Compatibility,
                    file: StaticString = #filePath, line: UInt = #line) throws {
        let host = SCP03Host(keys: try vector.staticKeys, level: try vector.level, mode: vector.mode,
                             applicationID: vector.sd_aid.map { [UInt8](hex: $0) },
                             compatibility: vector.compatibility.union(extra))
        let hostChallenge = [UInt8](hex: vector.host_challenge)
        let initializeUpdate = host.initializeUpdateCommand(hostChallenge: hostChallenge)
        XCTAssertEqual(try withoutLe(initializeUpdate.encoded().hexString),
                       try withoutLe(vector.initialize_update.command), "\(vector.id): IU", file: file, line: line)
        let response = try ResponseAPDU(bytes: [UInt8](hex: vector.initialize_update.response))
        let (protection, handshake, authenticate) = try host.verify(initializeUpdate: response.data,
                                                                    hostChallenge: hostChallenge)
        if vector.sd_aid != nil && handshake.initializeUpdate.options.pseudoRandomChallenge {
            XCTAssertTrue(handshake.pseudoRandomChallengeVerified, vector.id, file: file, line: line)
        }
        XCTAssertEqual(try authenticate.encoded().hexString, vector.external_authenticate.command,
                       "\(vector.id): EXTERNAL AUTHENTICATE", file: file, line: line)
        for (index, step) in vector.steps.enumerated() {
            let label = "\(vector.id) step \(index)"
            let wrapped = try protection.wrap(try CommandAPDU(bytes: [UInt8](hex: step.plain_command)))
            if let expected = step.wrapped_command {
                XCTAssertEqual(try wrapped.encoded().hexString, expected, "\(label): wrapped command", file: file, line: line)
            }
            if let wire = step.wrapped_response, let plain = step.plain_response {
                let opened = try protection.unwrap(try ResponseAPDU(bytes: [UInt8](hex: wire)))
                XCTAssertEqual(opened.bytes.hexString, plain, "\(label): unwrapped response", file: file, line: line)
            }
        }
    }

    func replayCard(_ vector: SessionVector, file: StaticString = #filePath, line: UInt = #line) throws {
        let recorded = try ResponseAPDU(bytes: [UInt8](hex: vector.initialize_update.response))
        let answer = try InitializeUpdateResponse(bytes: recorded.data, mode: vector.mode)
        // P1 00 asks for "any key set": the card answers with the version it holds.
        let given = try vector.staticKeys
        let keys = try SCP03Keys(version: answer.keyVersion, enc: given.enc, mac: given.mac, dek: given.dek)
        let sequence = answer.sequenceCounter.map { $0.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        let card = SCP03CardEndpoint(configuration: .init(
            keys: keys, options: answer.options, keyDiversificationData: answer.keyDiversificationData,
            sequenceCounter: (sequence ?? 1) - 1, fixedCardChallenge: answer.cardChallenge))
        let aid = vector.sd_aid.map { [UInt8](hex: $0) } ?? []
        let iu = card.initializeUpdate(try CommandAPDU(bytes: [UInt8](hex: vector.initialize_update.command)),
                                       applicationID: aid)
        if answer.sequenceCounter != nil || !answer.options.pseudoRandomChallenge {
            XCTAssertEqual(iu.bytes.hexString, vector.initialize_update.response, "\(vector.id): IU response",
                           file: file, line: line)
        }
        let ea = card.externalAuthenticate(try CommandAPDU(bytes: [UInt8](hex: vector.external_authenticate.command)),
                                           extendedLength: false)
        XCTAssertEqual(ea.status, .success, "\(vector.id): EA", file: file, line: line)
        let session = try XCTUnwrap(card.session, vector.id, file: file, line: line)
        for (index, step) in vector.steps.enumerated() {
            let label = "\(vector.id) step \(index)"
            guard let wrappedCommand = step.wrapped_command else { continue }
            let plain = try session.unwrapCommand(try CommandAPDU(bytes: [UInt8](hex: wrappedCommand)), extendedLength: false)
            var expected = try withoutLe(step.plain_command)
            if vector.compatibility.contains(.proprietaryClassOnWrappedCommands) { expected.cla = plain.cla }
            var opened = plain
            opened.expectedLength = nil
            XCTAssertEqual(opened, expected, "\(label): card opens the command", file: file, line: line)
            if let plainResponse = step.plain_response, let wire = step.wrapped_response {
                if let reason = Self.nonCanonicalPadding(plain: plainResponse, wire: wire, session: session) {
                    print("card-side replay of \(label) response skipped: \(reason)")
                    continue
                }
                let protected = try session.wrapResponse(try ResponseAPDU(bytes: [UInt8](hex: plainResponse)))
                XCTAssertEqual(protected.bytes.hexString, wire, "\(label): card protects the response", file: file, line: line)
            }
        }
    }

    /// A card pads canonically, so a recorded response padded past one block
    /// cannot be produced again; the reason is printed instead.
    static func nonCanonicalPadding(plain: String, wire: String, session: SCP03MessageProtection) -> String? {
        guard session.level.hasResponseEncryption, let plainData = try? ResponseAPDU(bytes: [UInt8](hex: plain)).data,
              !plainData.isEmpty, let wireData = try? ResponseAPDU(bytes: [UInt8](hex: wire)).data else { return nil }
        let macLength = session.mode.rawValue
        let canonical = (plainData.count / 16 + 1) * 16 + macLength
        guard wireData.count != canonical else { return nil }
        return "the recorded card padded \(plainData.count) bytes to \(wireData.count - macLength), not \(canonical - macLength) (non-canonical ISO 9797-1 padding)"
    }
}
