import APDU
import CardSession
import CardSimulator
import CardTransport
import PKCS15
import SecureChannel
import ExitContract
import XCTest

/// Cards stricter than dmboot expected (issue 24): each personality read in
/// process, with what went on the wire; the same cards cross pcscd in
/// IntegrationTests/PersonalityProvisioningTests.
extension PersonalityTests {
    /// ISO/IEC 7816-4 5.1: Ne is the most the card may send, so 200 bytes with
    /// 9000 to a READ BINARY of 239 is a whole answer, and the next one starts
    /// at offset 200. Only 6282 (table 6: end of file reached before Ne bytes)
    /// or the size from the FCP ends the EF.
    func testAShortChunkWith9000IsReadOnAtTheOffsetReached() throws {
        let (result, link) = try read(.shortReads)
        XCTAssertEqual(result.contents.bootstrapObjects.first?.content, BuiltInProfiles.demoBootstrap)
        let offsets = link.sent.filter { $0.count > 3 && $0[1] == 0xB0 }.map { Int($0[2]) << 8 | Int($0[3]) }
        XCTAssertTrue(offsets.contains(200) && offsets.contains(400), "\(offsets)")
        XCTAssertFalse(offsets.contains(239), "the offset follows the bytes received, not the bytes asked: \(offsets)")
    }

    /// A card that answers 6A86 to SELECT of an EF with P2 04 gets P2 00
    /// (FCI) next, as OpenSC iso7816.c falls back, for EF(DIR) and every
    /// PKCS#15 EF; the FCI's size (tag 80) serves as the FCP's would.
    func testAnEFSelectRefusingTheFCPFallsBackToTheFCI() throws {
        let (result, link) = try read(.fcpRefused)
        XCTAssertEqual(result.contents.application.foundBy, "ef-dir")
        XCTAssertEqual(result.contents.bootstrapObjects.first?.content, BuiltInProfiles.demoBootstrap)
        let selects = link.sent.filter { $0.count > 3 && $0[1] == 0xA4 && $0[2] != 0x04 }
        XCTAssertTrue(selects.contains { $0[2] == 0x08 && $0[3] == 0x04 && $0.suffix(3).starts(with: [0x2F, 0x00]) })
        XCTAssertTrue(selects.contains { $0[2] == 0x08 && $0[3] == 0x00 && $0.suffix(3).starts(with: [0x2F, 0x00]) },
                      "EF(DIR) selected again asking for the FCI")
    }
}

extension PersonalityTests {
    /// The ATR's card capabilities announce extended length and the card
    /// refuses it (6700): the extended SELECT of EF(DIR), the first APDU, is
    /// the probe, and the session runs in short APDUs, one APDU dearer than
    /// the minimum.
    func testARefusedExtendedSelectMeansShortAPDUsBeforeSCP03() throws {
        let (result, link) = try read(.noExtendedLength)
        XCTAssertFalse(result.extendedLength)
        XCTAssertTrue(result.lengthChoice.reason.contains("6700"), result.lengthChoice.reason)
        XCTAssertEqual(result.contents.bootstrapObjects.first?.content, BuiltInProfiles.demoBootstrap)
        let extended = link.sent.filter { $0.count > 7 && $0[4] == 0x00 }
        XCTAssertEqual(extended.count, 1, "only the probe went extended")
        XCTAssertEqual(extended.first?[1], 0xA4)
    }

    /// Taken, the probe costs no APDU: the extended SELECT is the SELECT.
    func testAnAcceptedExtendedSelectKeepsExtendedLength() throws {
        let (result, link) = try read(.extendedLength)
        XCTAssertTrue(result.extendedLength, result.lengthChoice.reason)
        XCTAssertEqual(link.sent.filter { $0[1] == 0xA4 && $0[2] == 0x04 }.count, 1)
        XCTAssertEqual(result.contents.bootstrapObjects.first?.content, BuiltInProfiles.demoBootstrap)
    }
}

extension PersonalityTests {
    /// Java Card 3 Programming Notes, "Extended APDU Format": a one-byte Le
    /// of 00 means Ne = 256; `APDUException.BAD_LENGTH`: an outgoing length
    /// over 256 without `ExtendedLength` is refused. So an applet that reads
    /// as many plain bytes as Le says cannot put 256 bytes, padded and MACed,
    /// in a short answer; GlobalPlatform Amendment D 6.2.4 leaves Le out of the
    /// C-MAC and sets no size rule. ISO/IEC 7816-4 Annex A case 2S.2: "Le
    /// definitely not accepted", SW1 67. That 6700 (here with the session
    /// ended by the security domain) is met with a NEW wrapped command asking
    /// Le EF, then, on 6982, one more session and the EF selected again.
    func testAnAppletReadingTheWireLeIsReadWithLeEFAfterOneNewSession() throws {
        let (result, link) = try read(.wireLe)
        XCTAssertEqual(result.contents.bootstrapObjects.first?.content, BuiltInProfiles.demoBootstrap)
        XCTAssertEqual(result.recovery.readLength, 0xEF)
        XCTAssertEqual(result.recovery.sessionsReopened, 1)
        XCTAssertEqual(link.card.externalAuthenticateCount, 2, "one session, then exactly one more")
        let reads = link.sent.filter { $0.count > 1 && $0[1] == 0xB0 && $0[0] & 0x04 != 0 }
        XCTAssertEqual(Set(reads).count, reads.count, "no wrapped command went twice")
        XCTAssertTrue(reads.contains { $0.last == 0xEF }, "Le EF on the wire")
        XCTAssertEqual(result.warnings.count, 1, "\(result.warnings)")
    }

    /// ISO/IEC 7816-4 Annex A case 2S.3: Le not accepted, the card gives the
    /// available length La in 6Cxx. Under secure messaging the command
    /// cannot be replayed (ISO7816Channel leaves it alone), so a new wrapped
    /// command asks Le xx, and the session (not ended by the card) goes on.
    func testA6CxxUnderSecureMessagingIsMetWithANewCommandAskingLeXX() throws {
        let (result, link) = try read(.wrongLengthUnderSM)
        XCTAssertEqual(result.contents.bootstrapObjects.first?.content, BuiltInProfiles.demoBootstrap)
        XCTAssertEqual(result.recovery.readLength, 0xEF)
        XCTAssertEqual(result.recovery.lengthRecoveries, 1, "remembered for the session: one recovery, not one per chunk")
        XCTAssertEqual(result.recovery.sessionsReopened, 0)
        XCTAssertEqual(link.card.externalAuthenticateCount, 1)
    }
}

extension PersonalityTests {
    /// Only Key-ENC wrong: the cryptograms (S-MAC) verify, the pseudo-random
    /// challenge (Key-ENC, Amendment D 6.2.2.1) does not, and the card cannot
    /// decrypt the first command with data (Amendment D 6.2.6) and says 6982:
    /// a key problem with its own exit status, not a card error.
    func testAWrongKeyENCIsAKeyProblemNotACardError() throws {
        let card = try VirtualCard(profile: BuiltInProfiles.demo)
        let domain = BuiltInProfiles.demoSecurityDomain
        let reader = BootstrapReader(keys: try KeyFile.parse(kvn: domain.kvn, enc: domain.dek, mac: domain.mac,
                                                             dek: domain.dek, mode: nil, source: "test").0)
        XCTAssertThrowsError(try reader.read(over: ISO7816Channel(link: Link(card)), atr: card.atr)) { error in
            XCTAssertEqual(error as? SecureChannelError, .encryptionKeyWrong(operation: "SELECT 5031"))
            XCTAssertEqual((error as? SecureChannelError)?.exitStatus.rawValue, 25)
        }
        XCTAssertEqual(card.externalAuthenticateCount, 1)
    }
}

extension PersonalityTests {
    /// OpenSC dir.c (sc_enum_apps) lists every application of EF(DIR); a
    /// card may name one it no longer holds. Its SELECT is refused (6A82)
    /// and the next PKCS#15 entry, on the following record, is the one read.
    func testTheNextPKCS15EntryOfEFDIRIsTriedWhenTheFirstCannotBeSelected() throws {
        let (result, link) = try read(.twoApplications)
        XCTAssertEqual(result.contents.application.foundBy, "ef-dir")
        XCTAssertEqual(result.contents.application.applicationID, PKCS15Application.standardAID)
        XCTAssertEqual(result.contents.bootstrapObjects.first?.content, BuiltInProfiles.demoBootstrap)
        XCTAssertEqual(link.sent.filter { $0.count > 2 && $0[1] == 0xB2 }.map { $0[2] }, [1, 2], "READ RECORD 1, then 2")
    }
}

extension PersonalityTests {
    /// The two-applications card with READ RECORD answered as other cards
    /// do (ISO/IEC 7816-4 table 6): 6282 ("end of record reached before
    /// reading Ne bytes") with the whole record, and 6B00 (wrong P1-P2) past
    /// the last record instead of 6A83.
    final class RecordWarnings: CardLink {
        let card: VirtualCard
        init(_ card: VirtualCard) { self.card = card }
        func transmit(raw command: [UInt8]) throws -> [UInt8] {
            var answer = card.process(command)
            guard command.count > 1, command[1] == 0xB2, answer.count >= 2 else { return answer }
            let status = Array(answer.suffix(2))
            if status == [0x90, 0x00] { answer.replaceSubrange((answer.count - 2)..., with: [0x62, 0x82]) }
            if status == [0x6A, 0x83] { answer = [0x6B, 0x00] }
            return answer
        }
    }

    func testReadRecordWith6282IsARecordAnd6B00IsTheEnd() throws {
        let card = try VirtualCard(profile: Personality.twoApplications.profile)
        let application = try PKCS15Application.select(over: ISO7816Channel(link: RecordWarnings(card)))
        XCTAssertEqual(application.applicationID, PKCS15Application.standardAID)

        var retiredOnly = Personality.twoApplications.profile
        retiredOnly.pkcs15?.inDirectory = false
        let lonely = try VirtualCard(profile: retiredOnly)
        XCTAssertThrowsError(try PKCS15Application.select(over: ISO7816Channel(link: RecordWarnings(lonely)))) { error in
            XCTAssertEqual((error as? CardStatusError)?.status, StatusWord(0x6A82), "the retired application's refusal, not 6B00: \(error)")
        }
    }
}
