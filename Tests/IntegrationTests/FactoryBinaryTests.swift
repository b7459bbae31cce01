import APDU
import CardSimulator
import Foundation
import XCTest

/// The binary a factory installs carries no simulator (issue 15): the demo
/// card's static keys, public like GlobalPlatform's test keys, and the card's
/// side of SCP03 exist only in dmboot-sim, so no dmboot can open a card with
/// demo keys or pose as a card.
final class FactoryBinaryTests: XCTestCase {
    func binary(_ name: String) throws -> Data {
        try Data(contentsOf: Executable.productsDirectory.appendingPathComponent(name))
    }

    func contains(_ data: Data, _ pattern: [UInt8]) -> Bool {
        data.range(of: Data(pattern)) != nil
    }

    func testDmbootCarriesNeitherTheDemoKeysNorTheSimulator() throws {
        let dmboot = try binary("dmboot")
        let simulator = try binary("dmboot-sim")
        let domain = BuiltInProfiles.demoSecurityDomain
        var patterns: [(String, [UInt8])] = []
        for (name, key) in [("ENC", domain.enc), ("MAC", domain.mac), ("DEK", domain.dek)] {
            patterns.append(("demo key \(name) as hex", Array(key.utf8)))
            patterns.append(("demo key \(name) as bytes", try Hex.decode(key)))
        }
        // Swift type names in metadata carry the module and type names.
        for name in ["CardSimulator", "SCP03CardEndpoint", "VirtualCard", "CardFeeder"] {
            patterns.append(("symbol \(name)", Array(name.utf8)))
        }
        for (what, pattern) in patterns {
            XCTAssertFalse(contains(dmboot, pattern), "dmboot carries the \(what)")
        }
        // The search finds them where they are, so its silence on dmboot means something.
        XCTAssertTrue(contains(simulator, Array(domain.enc.utf8)), "dmboot-sim carries the demo ENC key as hex")
        XCTAssertTrue(contains(simulator, Array("SCP03CardEndpoint".utf8)), "dmboot-sim carries the card side")
    }

    func testDmbootHasNoSimulateCommand() throws {
        let result = try Executable.run("dmboot", ["simulate", "--write-keys", "/dev/null"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertFalse(try Executable.run("dmboot", ["--help"]).stdout.contains("simulate"))
    }
}
