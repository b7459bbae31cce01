import APDU
import CardSimulator
import CardTransport
import CardCrypto
import SecureChannel
import XCTest

/// Each way the handshake fails ends it with its own error, and nothing that
/// could cost the card a key try is sent once the card failed to prove itself.
final class HandshakeFailureTests: XCTestCase {
    func host(keys: SCP03Keys? = nil, level: UInt8 = 0x33, mode: ChallengeMode = .s8,
              aid: [UInt8]? = PKCS15AID.value) throws -> SCP03Host {
        SCP03Host(keys: try keys ?? TestCards.keys(), level: try SecurityLevel(level), mode: mode, applicationID: aid)
    }

    func testTheRightKeysOpenLevel33AndVerifyThePseudoRandomChallenge() throws {
        let (card, _, channel) = try TestCards.selected()
        let secure = try host().open(over: channel)
        XCTAssertEqual(secure.level.rawValue, 0x33)
        XCTAssertTrue(secure.handshake.pseudoRandomChallengeVerified)
        XCTAssertEqual(secure.handshake.initializeUpdate.sequenceCounter, [0x00, 0x00, 0x42])
        XCTAssertEqual(card.securityDomain?.session?.level.rawValue, 0x33)
    }

    func testWrongStaticKeysStopAfterInitializeUpdate() throws {
        let (_, link, channel) = try TestCards.selected()
        let wrong = try TestCards.keys(enc: "000102030405060708090A0B0C0D0E0F", mac: "101112131415161718191A1B1C1D1E1F")
        // A challenge that does not match only warns (GlobalPlatformPro GPSession
        // does the same); the card cryptogram, from Key-MAC, stops the handshake.
        XCTAssertThrowsError(try host(keys: wrong).open(over: channel)) { error in
            XCTAssertEqual(error as? SecureChannelError, .cardCryptogramMismatch)
        }
        var strict = try host(keys: wrong)
        strict.requiresChallengeMatch = true
        XCTAssertThrowsError(try strict.open(over: channel)) { error in
            XCTAssertEqual(error as? SecureChannelError, .cardChallengeMismatch)
        }
        XCTAssertThrowsError(try host(keys: wrong, aid: nil).open(over: channel)) { error in
            XCTAssertEqual(error as? SecureChannelError, .cardCryptogramMismatch)
        }
        XCTAssertEqual(link.count(ins: 0x82), 0, "EXTERNAL AUTHENTICATE must not be sent")
    }

    func testACorruptCardCryptogramIsRejectedInConstantTimeBeforeAnythingElse() throws {
        let (card, link, channel) = try TestCards.selected()
        card.faults.corruptCardCryptogram = true
        XCTAssertThrowsError(try host().open(over: channel)) { error in
            XCTAssertEqual(error as? SecureChannelError, .cardCryptogramMismatch)
            XCTAssertTrue("\(error)".contains("no key tries were used"))
        }
        XCTAssertEqual(link.count(ins: 0x82), 0)
    }

    /// GlobalPlatformPro GPSession: "Pseudorandom card challenge does not
    /// match expected" is a logged warning, and the session opens when the
    /// card cryptogram verifies. A strict host refuses it.
    func testAChallengeFromAnotherApplicationIsAWarningUnlessStrict() throws {
        let (_, _, channel) = try TestCards.selected()
        let secure = try host(aid: [0xA0, 0x00, 0x00, 0x01, 0x51]).open(over: channel)
        XCTAssertEqual(secure.handshake.pseudoRandomChallenge, .mismatch)
        XCTAssertEqual(secure.handshake.warnings.count, 1)
        secure.close()
        var strict = try host(aid: [0xA0, 0x00, 0x00, 0x01, 0x51])
        strict.requiresChallengeMatch = true
        XCTAssertThrowsError(try strict.open(over: channel)) { error in
            XCTAssertEqual(error as? SecureChannelError, .cardChallengeMismatch)
        }
    }

    func testUnexpectedKeyInformationIsRejected() throws {
        let host = try self.host()
        let challenge = [UInt8](repeating: 1, count: 8)
        var response = [UInt8](repeating: 0, count: 10) + [0x30, 0x02, 0x70] + [UInt8](repeating: 0, count: 16) + [0, 0, 1]
        XCTAssertThrowsError(try host.verify(initializeUpdate: response, hostChallenge: challenge)) {
            XCTAssertEqual($0 as? SecureChannelError, .notSCP03(scpIdentifier: 0x02))
        }
        response[10] = 0x31
        response[11] = 0x03
        XCTAssertThrowsError(try host.verify(initializeUpdate: response, hostChallenge: challenge)) {
            XCTAssertEqual($0 as? SecureChannelError, .keyVersionMismatch(requested: 0x30, card: 0x31))
        }
        response[10] = 0x30
        response[12] = 0x71
        XCTAssertThrowsError(try host.verify(initializeUpdate: response, hostChallenge: challenge)) {
            XCTAssertEqual($0 as? SecureChannelError, .challengeModeMismatch(host: 8, card: 16))
        }
        response[12] = 0x10
        XCTAssertThrowsError(try host.verify(initializeUpdate: response, hostChallenge: challenge)) {
            XCTAssertEqual($0 as? SecureChannelError, .capabilityMissing(level: .full, iParameter: 0x10))
        }
        XCTAssertThrowsError(try host.verify(initializeUpdate: Array(response.prefix(20)), hostChallenge: challenge)) {
            XCTAssertEqual($0 as? SecureChannelError,
                           .malformedInitializeUpdateResponse(length: 20, expected: "29 or 32 in S8"))
        }
    }

    func testAnUnknownKeyVersionIsRefusedByTheCard() throws {
        let (_, _, channel) = try TestCards.selected()
        XCTAssertThrowsError(try host(keys: TestCards.keys(version: 0x31)).open(over: channel)) { error in
            XCTAssertEqual(error as? SecureChannelError, .initializeUpdateFailed(StatusWord(0x6A88)))
        }
    }

    /// A card that accepts INITIALIZE UPDATE but refuses EXTERNAL AUTHENTICATE.
    final class RefusingAuthentication: CardChannel {
        let inner: CardChannel
        var authentications = 0
        init(_ inner: CardChannel) { self.inner = inner }
        func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
            guard command.ins == 0x82 else { return try inner.transmit(command) }
            authentications += 1
            return ResponseAPDU(status: StatusWord(0x6300))
        }
    }

    func testARefusedExternalAuthenticateIsNeverRetried() throws {
        let (_, _, channel) = try TestCards.selected()
        let refusing = RefusingAuthentication(channel)
        XCTAssertThrowsError(try host().open(over: refusing)) { error in
            XCTAssertEqual(error as? SecureChannelError, .externalAuthenticateRefused(StatusWord(0x6300)))
            XCTAssertTrue("\(error)".contains("not retried"))
        }
        XCTAssertEqual(refusing.authentications, 1)
    }

    func testTheCardBlocksItsKeysAfterFailedAuthentications() throws {
        let (card, _, channel) = try TestCards.selected(TestCards.profile(maxFailures: 2))
        let host = try self.host()
        for _ in 0..<2 {
            let iu = try channel.transmit(host.initializeUpdateCommand(hostChallenge: [UInt8](repeating: 7, count: 8)))
            XCTAssertEqual(iu.status, .success)
            let forged = CommandAPDU(cla: 0x84, ins: 0x82, p1: 0x33, p2: 0, data: [UInt8](repeating: 0, count: 16))
            XCTAssertEqual(try channel.transmit(forged).status, StatusWord(0x6982))
        }
        XCTAssertTrue(try XCTUnwrap(card.securityDomain).isBlocked)
        XCTAssertThrowsError(try host.open(over: channel)) { error in
            XCTAssertEqual(error as? SecureChannelError, .initializeUpdateFailed(StatusWord(0x6983)))
        }
    }

    func testSecurityLevelsAreTheOnesGlobalPlatformAllows() throws {
        for level: UInt8 in [0x00, 0x01, 0x03, 0x11, 0x13, 0x31, 0x33] {
            XCTAssertEqual(try SecurityLevel(level).rawValue, level)
        }
        XCTAssertThrowsError(try SecurityLevel(0x02)) {
            XCTAssertEqual($0 as? SecureChannelError, .unsupportedSecurityLevel(0x02))
        }
        XCTAssertEqual(try SecurityLevel(text: "0x13").rawValue, 0x13)
        XCTAssertThrowsError(try SecurityLevel(text: "high")) {
            XCTAssertEqual($0 as? SecureChannelError, .unparsableSecurityLevel("high"))
        }
        XCTAssertEqual(SecurityLevel.full.description, "33 (C-DECRYPTION, R-ENCRYPTION, C-MAC, R-MAC)")
    }
}
