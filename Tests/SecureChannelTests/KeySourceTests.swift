import APDU
import CardCrypto
import CardSimulator
import SecureChannel
import Synchronization
import XCTest

/// The host asks a key source for session keys after INITIALIZE UPDATE, and
/// tells it everything the card disclosed.
final class KeySourceTests: XCTestCase {
    /// A source that keeps its static keys to itself, as a token would, and
    /// records what it was asked.
    final class SealedSource: SCP03KeySource {
        private let keys: SCP03Keys
        let requests = Mutex<[SCP03KeyRequest]>([])

        init(keys: SCP03Keys) { self.keys = keys }

        var requestedKeyVersion: UInt8 { keys.version }

        func sessionKeys(for request: SCP03KeyRequest) throws -> SCP03SessionKeys {
            requests.withLock { $0.append(request) }
            return try SCP03SessionKeys(deriving: keys, hostChallenge: request.hostChallenge,
                                        cardChallenge: request.cardChallenge)
        }

        func pseudoRandomCardChallenge(for request: SCP03KeyRequest, applicationID: [UInt8]) throws -> [UInt8]? { nil }
    }

    func testTheSourceGetsTheCardsAnswerAndTheChallengesAndItsKeysOpenTheSession() throws {
        let (_, _, channel) = try TestCards.selected()
        let source = SealedSource(keys: try TestCards.keys())
        let hostChallenge: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        let identity = CardIdentity(iccid: "8949000000000000001", pkcs15SerialNumber: "0102")
        let host = SCP03Host(keySource: source, level: .full, applicationID: PKCS15AID.value, cardIdentity: identity)
        let secure = try host.open(over: channel, hostChallenge: hostChallenge)
        XCTAssertEqual(secure.level, .full)
        XCTAssertFalse(secure.handshake.pseudoRandomChallengeVerified, "this source cannot check it, and says so")
        let request = try XCTUnwrap(source.requests.withLock { $0.first })
        let answer = secure.handshake.initializeUpdate
        XCTAssertEqual(request.keyDiversificationData, answer.keyDiversificationData)
        XCTAssertEqual(request.keyDiversificationData.count, 10)
        XCTAssertEqual(request.keyVersion, 0x30)
        XCTAssertEqual(request.scpIdentifier, 0x03)
        XCTAssertEqual(request.scpParameters, answer.options)
        XCTAssertEqual(request.sequenceCounter, [0x00, 0x00, 0x42])
        XCTAssertEqual(request.hostChallenge, hostChallenge)
        XCTAssertEqual(request.cardChallenge, answer.cardChallenge)
        XCTAssertEqual(request.cardIdentity, identity)
    }

    func testInitializeUpdateAsksForTheSourcesKeyVersion() throws {
        let source = StaticKeySource(keys: try TestCards.keys(version: 0x31))
        let command = SCP03Host(keySource: source).initializeUpdateCommand(hostChallenge: [UInt8](repeating: 0, count: 8))
        XCTAssertEqual(command.p1, 0x31)
    }

    func testASourceForAnotherKeyVersionIsNotAskedForKeys() throws {
        let (_, link, channel) = try TestCards.selected()
        let source = SealedSource(keys: try TestCards.keys(version: 0x31))
        XCTAssertThrowsError(try SCP03Host(keySource: source, level: .full).open(over: channel))
        XCTAssertTrue(source.requests.withLock { $0.isEmpty })
        XCTAssertEqual(link.count(ins: 0x82), 0, "no EXTERNAL AUTHENTICATE")
    }
}
