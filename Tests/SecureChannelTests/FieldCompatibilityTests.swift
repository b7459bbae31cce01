import APDU
import CardSimulator
import CardTransport
import CardCrypto
import SecureChannel
import XCTest

/// Secure messaging as field cards and other hosts do it (issue 14 items 4, 5, 8).
final class FieldCompatibilityTests: XCTestCase {
    func keys() -> SCP03SessionKeys {
        SCP03SessionKeys(enc: SecretBytes([UInt8](repeating: 1, count: 16)), mac: SecretBytes([UInt8](repeating: 2, count: 16)),
                    rmac: SecretBytes([UInt8](repeating: 3, count: 16)))
    }

    func protection(_ level: UInt8 = 0x33, compatibility: SCP03Compatibility = []) throws -> SCP03MessageProtection {
        SCP03MessageProtection(keys: keys(), level: try SecurityLevel(level), mode: .s8,
                               chainingValue: [UInt8](repeating: 0, count: 16), compatibility: compatibility)
    }

    /// GlobalPlatform Amendment D 6.2.4 (quoted in pySim global_platform/scp.py):
    /// the logical channel number is set to zero for the C-MAC, as ETSI TS
    /// 102 221 10.1.1 codes the channel in the CLA. The same command on
    /// channels 0 to 3 carries the same MAC, and the card checks it. (Channels
    /// 4-19 use the further class form, b7 set, which the MAC keeps.)
    func testTheCMACIgnoresTheLogicalChannelBits() throws {
        var macs: [[UInt8]] = []
        for number in [0, 1, 2, 3] {
            let channel = try LogicalChannel(number)
            let command = CommandAPDU(cla: channel.encode(cla: 0x00), ins: 0xB0, p1: 0, p2: 0, expectedLength: 16)
            let host = try protection(0x01)
            let wrapped = try host.wrap(command)
            XCTAssertEqual(LogicalChannel.decode(cla: wrapped.cla), channel, "the channel stays on the wire")
            macs.append(Array(wrapped.data.suffix(8)))
            let card = try protection(0x01)
            XCTAssertEqual(try card.unwrapCommand(wrapped, extendedLength: false).cla, command.cla)
        }
        XCTAssertEqual(Set(macs).count, 1, "\(macs.map(\.hexString))")
    }

    /// pySim global_platform/scp.py: a wrapped case 2 or 4 command asks Le 00,
    /// since the card returns the plain bytes padded, encrypted and MACed
    /// (ISO/IEC 7816-4 5.1: Le is a maximum). A case 3 command stays without Le.
    func testWrappedCommandsThatExpectDataAskLe00() throws {
        let host = try protection()
        XCTAssertEqual(try host.wrap(ISOCommand.readBinary(offset: 0, length: 239)).expectedLength, 256)
        XCTAssertEqual(try host.wrap(ISOCommand.selectFile(0x5031, returnFCP: true)).expectedLength, 256)
        XCTAssertNil(try host.wrap(ISOCommand.selectFile(0x5031)).expectedLength)
        let wire = try host.wrap(ISOCommand.readBinary(offset: 0, length: 16)).encoded()
        XCTAssertEqual(wire.last, 0x00)
    }

    /// GlobalPlatformPro SCP03Wrapper (globalplatformpro.scp03.buggycounterworkaround):
    /// some cards advance the encryption counter only for commands with data.
    /// Both ends with the setting agree; an Amendment D host does not agree with such a card.
    func testTheCounterQuirkMakesHostAndCardAgreeOnlyWhenBothHaveIt() throws {
        let data = ISOCommand.selectFile(0x5031)
        let empty = ISOCommand.readBinary(offset: 0, length: 16)
        let quirky = try protection(compatibility: .counterOnlyWithCommandData)
        let card = try protection(compatibility: .counterOnlyWithCommandData)
        for command in [data, empty, empty, data] {
            XCTAssertEqual(try card.unwrapCommand(try quirky.wrap(command), extendedLength: false).data, command.data)
        }
        XCTAssertEqual(quirky.counter, 2, "two commands carried data")

        let standard = try protection()
        let quirkyCard = try protection(compatibility: .counterOnlyWithCommandData)
        for command in [data, empty] {
            _ = try quirkyCard.unwrapCommand(try standard.wrap(command), extendedLength: false)
        }
        XCTAssertThrowsError(try quirkyCard.unwrapCommand(try standard.wrap(data), extendedLength: false),
                             "the counters have drifted apart, so the card cannot decrypt")
    }

    func testTheSettingIsNamedInKeyFilesAndUnknownNamesAreRefused() throws {
        XCTAssertEqual(SCP03Compatibility(names: ["counter-data-only"]), .counterOnlyWithCommandData)
        XCTAssertNil(SCP03Compatibility(names: ["counter-never"]))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dmboot-quirk-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("keys.json").path
        var domain = BuiltInProfiles.demoSecurityDomain
        domain.compatibility = ["counter-data-only"]
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: try domain.keyFileJSON(), attributes: [.posixPermissions: 0o600]), "cannot create the test file")
        XCTAssertEqual(try KeyFile.open(path: file).compatibility, .counterOnlyWithCommandData)
        XCTAssertEqual(try KeyFile.open(path: file).keys.version, 0x30)
        let bad = directory.appendingPathComponent("bad.json").path
        XCTAssertTrue(FileManager.default.createFile(atPath: bad, contents: Data(#"{"kvn":"30","enc":"\#(domain.enc)","mac":"\#(domain.mac)","dek":"\#(domain.dek)","compatibility":["counter-never"]}"#.utf8),
                                           attributes: [.posixPermissions: 0o600]), "cannot create the test file")
        XCTAssertThrowsError(try KeyFile.open(path: bad)) { error in
            XCTAssertTrue("\(error)".contains("counter-data-only"), "\(error)")
        }
    }
}
