import APDU
import CardSession
import CardSimulator
import CardTransport
import ExitContract
import Foundation
import PKCS15
import SecureChannel
import XCTest

/// Every card personality of issue 14, read in process at level 33 (the same
/// cards cross pcscd in IntegrationTests/PersonalityProvisioningTests).
final class PersonalityTests: XCTestCase {
    final class Link: CardLink {
        let card: VirtualCard
        let transmissionProtocol: TransmissionProtocol
        private(set) var sent: [[UInt8]] = []
        init(_ card: VirtualCard) {
            self.card = card
            transmissionProtocol = (try? ATR(bytes: card.atr))?.protocols == [0] ? .t0 : .t1
        }
        func transmit(raw command: [UInt8]) throws -> [UInt8] {
            sent.append(command)
            return card.process(command)
        }
    }

    func read(_ personality: Personality) throws -> (BootstrapReader.Result, Link) {
        let profile = personality.profile
        let card = try VirtualCard(profile: profile)
        let domain = try XCTUnwrap(profile.scp03)
        var reader = BootstrapReader(keys: try KeyFile.parse(kvn: domain.kvn, enc: domain.enc, mac: domain.mac,
                                                             dek: domain.dek, mode: nil, source: "test").0)
        reader.compatibility = try XCTUnwrap(SCP03Compatibility(names: domain.compatibility ?? []))
        if personality == .opaqueObjects { reader.extraDMLabels = ["DM bootstrap: demo server"] }
        let link = Link(card)
        return (try reader.read(over: ISO7816Channel(link: link), atr: card.atr), link)
    }

    func testEveryPersonalityGivesTheDemoBootstrapAtLevel33() throws {
        for personality in Personality.allCases {
            let (result, _) = try read(personality)
            XCTAssertEqual(result.contents.bootstrapObjects.first?.content, BuiltInProfiles.demoBootstrap, personality.rawValue)
            XCTAssertEqual(result.handshake?.level.rawValue, 0x33, personality.rawValue)
            XCTAssertEqual(result.handshake?.pseudoRandomChallenge, .verified, personality.rawValue)
            XCTAssertEqual(result.identity.source, .iccid, personality.rawValue)
        }
    }

    func testT0SendsNoLeOnCase4AndNoExtendedLength() throws {
        let (result, link) = try read(.t0)
        XCTAssertEqual(result.transmissionProtocol, .t0)
        XCTAssertFalse(result.extendedLength)
        for command in link.sent {
            let parsed = try CommandAPDU(bytes: command)
            XCTAssertNotEqual(parsed.isoCase, 4, command.hexString)
            XCTAssertFalse(command.count > 5 && command[4] == 0 && parsed.isoCase != 2, command.hexString)
        }
        XCTAssertTrue(link.sent.contains { $0.count > 1 && $0[1] == 0xC0 }, "GET RESPONSE fetched the data")
    }

    func testStrictP2CardNeverSeesP2Zero() throws {
        let (result, link) = try read(.strictP2)
        XCTAssertNil(result.contents.application.path, "the FCP has no tag 83")
        XCTAssertFalse(link.sent.contains { $0.count > 3 && $0[1] == 0xA4 && $0[3] & 0x0C == 0 })
    }

    /// The old reader trimmed trailing 00 from every EF: `03 01 00` (empty
    /// TokenFlags) and the ODF's path to EF 4400 both end in 00.
    func testDERThatEndsIn00IsReadWhole() throws {
        let (result, _) = try read(.derEndingIn00)
        XCTAssertEqual(result.contents.objectDirectory.dataObjectDirectories, [PKCS15Path(path: [0x44, 0x00])])
        XCTAssertEqual(result.contents.tokenInfo.serialHex, "44454D4F0001")
    }

    func testTransparentDirectoryAndDDOPathsLeadToTheApplication() throws {
        let (transparent, _) = try read(.transparentDirectory)
        XCTAssertEqual(transparent.contents.application.foundBy, "ef-dir")
        let (ddo, _) = try read(.ddoPaths)
        XCTAssertEqual(ddo.contents.application.odfPath, PKCS15Path(path: [0x3F, 0x00, 0x50, 0x15, 0x44, 0x01]))
        XCTAssertEqual(ddo.contents.application.tokenInfoPath, PKCS15Path(path: [0x3F, 0x00, 0x50, 0x15, 0x44, 0x02]))
    }

    /// PKCS#15 v1.1 5.4 (EF(DIR) DDO: `DDO ::= SEQUENCE { oid, odfPath Path
    /// OPTIONAL, tokenInfoPath [0] Path OPTIONAL, unusedPath [1] Path
    /// OPTIONAL }`, OpenSC pkcs15.c c_asn1_ddo: odfPath a SEQUENCE,
    /// tokenInfoPath context [0] constructed, A0): the DDO's paths win over
    /// 5031/5032 also when the AID selects the application. OpenSC reads
    /// EF(DIR) (sc_enum_apps) before it binds; so does dmboot, in clear, one
    /// SELECT and one READ RECORD, before the SELECT by AID. This card has
    /// no 5031: a reader that keeps the defaults gets 6A82.
    func testDDOPathsWinWhenTheAIDSelectsTheApplication() throws {
        let (result, link) = try read(.ddoPathsByAID)
        XCTAssertEqual(result.contents.application.foundBy, "aid")
        XCTAssertEqual(result.contents.application.odfPath, PKCS15Path(path: [0x3F, 0x00, 0x50, 0x15, 0x44, 0x01]))
        XCTAssertEqual(result.contents.application.tokenInfoPath, PKCS15Path(path: [0x3F, 0x00, 0x50, 0x15, 0x44, 0x02]))
        XCTAssertEqual(result.contents.tokenInfo.serialHex, "44454D4F0001")
        let instructions = link.sent.map { $0[1] }
        let selectByName = try XCTUnwrap(link.sent.firstIndex { $0[1] == 0xA4 && $0[2] == 0x04 })
        XCTAssertEqual(Array(instructions[selectByName - 2 ..< selectByName]), [0xA4, 0xB2], "SELECT 2F00 and one READ RECORD")
        XCTAssertEqual(instructions.filter { $0 == 0xB2 }.count, 1)
    }

    /// A card without EF(DIR) pays its one SELECT (6A82) and is read from 5031/5032 as before.
    func testACardWithoutEFDIRCostsOneSelect() throws {
        final class NoDirectory: CardLink {
            let transmissionProtocol = TransmissionProtocol.t1
            private(set) var sent: [[UInt8]] = []
            func transmit(raw command: [UInt8]) throws -> [UInt8] {
                sent.append(command)
                return command[1] == 0xA4 && command[2] == 0x04 ? [0x90, 0x00] : [0x6A, 0x82]
            }
        }
        let link = NoDirectory()
        let application = try PKCS15Application.select(over: ISO7816Channel(link: link))
        XCTAssertEqual(application.foundBy, "aid")
        XCTAssertNil(application.odfPath)
        XCTAssertEqual(link.sent.map { Array($0.prefix(3)) }, [[0x00, 0xA4, 0x08], [0x00, 0xA4, 0x04]], "SELECT 2F00 (6A82), SELECT AID")
    }

    /// GlobalPlatformPro GPSession.parse_select_response: the AID in the FCI's
    /// tag 84 replaces the one selected ("so one can select only the prefix").
    func testARightTruncatedSelectUsesTheAIDOfTag84() throws {
        let (result, _) = try read(.truncatedAID)
        XCTAssertEqual(result.contents.application.applicationID, PKCS15Application.standardAID + [0x02, 0x01])
        XCTAssertEqual(result.contents.application.requestedID, PKCS15Application.standardAID)
        XCTAssertEqual(result.handshake?.pseudoRandomChallenge, .verified)
        XCTAssertEqual(result.warnings.count, 1, "\(result.warnings)")
    }

    func testTheCounterQuirkCardFailsWithoutItsSetting() throws {
        let profile = Personality.counterQuirk.profile
        let domain = try XCTUnwrap(profile.scp03)
        let reader = BootstrapReader(keys: try KeyFile.parse(kvn: domain.kvn, enc: domain.enc, mac: domain.mac,
                                                             dek: domain.dek, mode: nil, source: "test").0)
        let card = try VirtualCard(profile: profile)
        // Amendment D 6.2.6 and 6.2.7 take both ICVs from the encryption
        // counter. A host one count ahead decrypts the first block of each
        // response wrongly while the R-MAC (over the cryptogram) and the
        // padding (in the last block) still verify, so the first protected
        // read, EF(ODF), is garbage: malformed card data. In the rare case the
        // garbage parses, the card cannot decrypt the next SELECT (6982).
        XCTAssertThrowsError(try reader.read(over: ISO7816Channel(link: Link(card)), atr: card.atr)) { error in
            switch error {
            case let malformed as PKCS15Error:
                XCTAssertTrue(malformed.description.hasPrefix("EF(ODF) at offset"), malformed.description)
                XCTAssertEqual(malformed.exitStatus, .malformedCardData)
            case let refused as CardStatusError:
                XCTAssertEqual(refused.status, StatusWord(0x6982), refused.description)
            default:
                XCTFail("\(error)")
            }
        }
    }

    func testACardWithoutTokenSerialIsKnownByItsICCID() throws {
        let (result, _) = try read(.iccidOnly)
        XCTAssertTrue(result.contents.tokenInfo.serialNumber.isEmpty)
        XCTAssertEqual(result.identity.reference, "iccid:89011234567890123456")
    }

    /// XML cannot contain 00 (XML 1.0 2.2) nor FF (not a UTF-8 byte): the
    /// first FF of the padding ends the CP document in its 512-byte EF.
    func testAPaddedXMLDocumentEndsAtThePadding() throws {
        let (result, link) = try read(.opaqueObjects)
        XCTAssertEqual(result.contents.bootstrapObjects.map(\.kind), [.dm, .cp])
        XCTAssertEqual(result.contents.bootstrapObjects.last?.content, Array(Personality.clientProvisioningXML.utf8))
        XCTAssertEqual(link.sent.filter { $0[1] == 0xB0 }.count, 4 + 10 + 1,
                       "EF.ICCID, ODF, TokenInfo, DODF, the DM bootstrap, then one read of the CP EF, not 512/239 = 3")
    }

    /// The document end is found in the bytes read so far (item 13): the
    /// demo EF is 2560 bytes, its WBXML 2275, so 10 READ BINARY of 239 bytes.
    func testReadingStopsWhereTheDocumentEnds() throws {
        let (result, link) = try read(.plain)
        XCTAssertEqual(link.sent.filter { $0[1] == 0xB0 }.count, 4 + 10,
                       "EF.ICCID, ODF, TokenInfo, DODF, then 2275/239 rounded up, not 2560/239 rounded up (11)")
        XCTAssertEqual(result.contents.bootstrapObjects.first?.content.count, 2275)
    }
}
