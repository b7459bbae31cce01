import APDU
import CardCrypto
import CardSimulator
import CardTransport
import SecureChannel
import XCTest

/// PUT KEY of an SCP03 key set (issue 29): the bytes against an independent
/// oracle, and the simulator's card side (KCV checks, the new version).
final class PutKeyTests: XCTestCase {
    static let newKeys = (enc: "000102030405060708090A0B0C0D0E0F", mac: "101112131415161718191A1B1C1D1E1F",
                          dek: "202122232425262728292A2B2C2D2E2F")

    static func next(version: UInt8 = 0x31) throws -> SCP03Keys {
        try SCP03Keys(version: version, enc: SecretBytes([UInt8](hex: newKeys.enc)), mac: SecretBytes([UInt8](hex: newKeys.mac)),
                      dek: SecretBytes([UInt8](hex: newKeys.dek)))
    }

    /// Computed by put_key_oracle.py (Python `cryptography`: AES-CBC with a zero IV
    /// under the current DEK, KCV = AES(key, 16 x 01)[0..2], as GlobalPlatformPro's
    /// GPSession.encodeKey and GPCrypto.kcv_aes do), for TestCards.dek and the keys above:
    /// put_key_oracle.py 49C24BD25921EE72B13A1DC15E103A80 31 <enc> <mac> <dek>
    static let oracleData = "318811102D3BAE5C1CC2E0B16AE66F667C47B20703C352808811104BF8F7BC8A09CA3D4D0A364B8E1A470903013808881110478D8BBD3E523CC949E8632C3831F96B03840DE5"
    static let oracleKCVs = "C35280" + "013808" + "840DE5"

    func testTheCommandIsPutKeyReplacingTheVersionWithTheOraclesData() throws {
        let command = try SCP03PutKey.command(newKeys: try Self.next(), replacing: 0x30,
                                              dek: SecretBytes([UInt8](hex: TestCards.dek)))
        XCTAssertEqual(Hex.encode([command.cla, command.ins, command.p1, command.p2]), "80D83081")
        XCTAssertEqual(command.data.hexString, try Self.oracle(dek: TestCards.dek).data)
        XCTAssertEqual(command.data.hexString, Self.oracleData, "the oracle's answer as recorded")
        XCTAssertEqual(try SCP03PutKey.expectedResponse(try Self.next()).hexString, "31" + Self.oracleKCVs)
    }

    /// Runs the oracle (python3 with `cryptography`, which the rig's python3-virtualsmartcard brings).
    static func oracle(dek: String) throws -> (data: String, kcvs: String) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("put_key_oracle.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script.path, dek, "31", newKeys.enc, newKeys.mac, newKeys.dek]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertEqual(lines.count, 2, text)
        XCTAssertEqual(lines.last?.replacingOccurrences(of: " ", with: ""), oracleKCVs)
        return (lines.first ?? "", lines.last ?? "")
    }

    func testTheSimulatorTakesTheNewKeySetAndOpensWithItAfterwards() throws {
        let (card, link, channel) = try TestCards.selected()
        let session = try SCP03Host(keys: try TestCards.keys(), level: .full, applicationID: PKCS15AID.value).open(over: channel)
        _ = try channel.expectSuccess(ISOCommand.selectApplication(VirtualCardAID.isd, response: .fci), "SELECT ISD")
        let isd = try SCP03Host(keys: try TestCards.keys(), level: .full, applicationID: VirtualCardAID.isd).open(over: channel)
        session.close()
        let answer = try isd.transmit(try SCP03PutKey.command(newKeys: try Self.next(), replacing: 0x30,
                                                              dek: SecretBytes([UInt8](hex: TestCards.dek))))
        XCTAssertEqual(answer.status, .success)
        XCTAssertEqual(answer.data.hexString, "31" + Self.oracleKCVs)
        // The new version opens; the old keys no longer do, and cost no EXTERNAL AUTHENTICATE finding that out.
        _ = try SCP03Host(keys: try Self.next(), level: .full, applicationID: VirtualCardAID.isd).open(over: channel).close()
        let before = card.externalAuthenticateCount
        XCTAssertThrowsError(try SCP03Host(keys: try TestCards.keys(version: 0x00), level: .full,
                                           applicationID: VirtualCardAID.isd).open(over: channel))
        XCTAssertEqual(card.externalAuthenticateCount, before)
        XCTAssertGreaterThan(link.count(ins: 0xD8), 0)
    }

    func testAWrongKCVIsRefusedAndTheOldKeysStay() throws {
        let (_, _, channel) = try TestCards.selected()
        _ = try channel.expectSuccess(ISOCommand.selectApplication(VirtualCardAID.isd, response: .fci), "SELECT ISD")
        let isd = try SCP03Host(keys: try TestCards.keys(), level: .full, applicationID: VirtualCardAID.isd).open(over: channel)
        var command = try SCP03PutKey.command(newKeys: try Self.next(), replacing: 0x30, dek: SecretBytes([UInt8](hex: TestCards.dek)))
        command.data[command.data.count - 1] ^= 0x01
        XCTAssertEqual(try isd.transmit(command).status, StatusWord(0x6A80))
        // Encrypted under another DEK, the keys decrypt to something whose KCV cannot match.
        let wrongDEK = try SCP03PutKey.command(newKeys: try Self.next(), replacing: 0x30, dek: SecretBytes([UInt8](hex: Self.newKeys.dek)))
        XCTAssertEqual(try isd.transmit(wrongDEK).status, StatusWord(0x6A80))
        _ = try SCP03Host(keys: try TestCards.keys(), level: .full, applicationID: VirtualCardAID.isd).open(over: channel).close()
    }

    func testPutKeyOutsideASecureChannelIsRefused() throws {
        let (_, _, channel) = try TestCards.selected()
        _ = try channel.expectSuccess(ISOCommand.selectApplication(VirtualCardAID.isd, response: .fci), "SELECT ISD")
        let command = try SCP03PutKey.command(newKeys: try Self.next(), replacing: 0x30, dek: SecretBytes([UInt8](hex: TestCards.dek)))
        XCTAssertEqual(try channel.transmit(command).status, StatusWord(0x6982))
    }
}

enum VirtualCardAID {
    /// GlobalPlatform's default ISD AID, which the simulator answers to.
    static let isd: [UInt8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00]
}
