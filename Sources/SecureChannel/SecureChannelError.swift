import APDU

/// Every way an SCP03 session fails. Each one ends the session; none is retried.
public enum SecureChannelError: Error, Equatable, CustomStringConvertible {
    case unsupportedSecurityLevel(UInt8)
    case unparsableSecurityLevel(String)
    case invalidKey(name: String, length: Int)
    case mixedKeyLengths(enc: Int, mac: Int)
    case initializeUpdateFailed(StatusWord)
    case malformedInitializeUpdateResponse(length: Int, expected: String)
    case notSCP03(scpIdentifier: UInt8)
    case keyVersionMismatch(requested: UInt8, card: UInt8)
    case challengeModeMismatch(host: Int, card: Int)
    case capabilityMissing(level: SecurityLevel, iParameter: UInt8)
    case cardChallengeMismatch
    case cardCryptogramMismatch
    case externalAuthenticateRefused(StatusWord)
    case responseMACMissing(StatusWord)
    case responseMACMismatch
    case commandMACMismatch
    case dataWithErrorStatus(StatusWord, length: Int)
    case badPadding
    case responseNotBlockAligned(Int)
    case counterExhausted
    case commandTooLong(plain: Int, limit: Int)
    case expectedLengthTooLong(asked: Int, limit: Int)
    case sessionClosed
    /// The pseudo-random challenge did not verify and the card refused the
    /// first encrypted command with 6982: it could not decrypt it, so Key-ENC
    /// is not the card's (Key-MAC is, or EXTERNAL AUTHENTICATE would have failed).
    case encryptionKeyWrong(operation: String)
    /// INITIALIZE UPDATE answered 6700: the card wants the other challenge
    /// length (S8 and S16 hosts send 8 and 16 bytes, Amendment D 7.1.1).
    case challengeLengthRefused(hostMode: Int)

    public var description: String {
        switch self {
        case .unsupportedSecurityLevel(let level):
            return "security level \(String(format2: level)) is not one of 00, 01, 03, 11, 13, 31, 33"
        case .unparsableSecurityLevel(let text):
            return "\"\(text)\" is not a security level; give it in hex, such as 33"
        case .invalidKey(let name, let length):
            return "key \(name) is \(length) bytes; an AES key is 16, 24 or 32 bytes"
        case .mixedKeyLengths(let enc, let mac):
            return "enc is \(enc) bytes but mac is \(mac); SCP03 derives session keys of one length from both"
        case .initializeUpdateFailed(let status):
            return "the card refused INITIALIZE UPDATE: \(status); check the key version (6A88: no such key set, 6983: keys blocked)"
        case .malformedInitializeUpdateResponse(let length, let expected):
            return "the INITIALIZE UPDATE response has \(length) bytes; expected \(expected)"
        case .notSCP03(let identifier):
            return "the card's key set speaks SCP\(String(format2: identifier)), not SCP03"
        case .keyVersionMismatch(let requested, let card):
            return "asked for key version \(String(format2: requested)) but the card answered with \(String(format2: card))"
        case .challengeModeMismatch(let host, let card):
            return "the host uses S\(host) challenges but the card's i parameter says S\(card); set the mode in the key file"
        case .capabilityMissing(let level, let i):
            return "the card's i parameter \(String(format2: i)) does not offer what level \(level) needs"
        case .cardChallengeMismatch:
            return "the card challenge is not the pseudo-random value the static keys give for this application: the card does not hold these keys, or this is not the card it claims to be; nothing was sent after INITIALIZE UPDATE"
        case .cardCryptogramMismatch:
            return "the card cryptogram does not verify: the card does not hold these static keys (wrong key file or key version), or it is not authentic; EXTERNAL AUTHENTICATE was not sent, so no key tries were used"
        case .externalAuthenticateRefused(let status):
            return "the card refused EXTERNAL AUTHENTICATE with \(status); it is not retried, because cards block their keys after a few failures"
        case .responseMACMissing(let status):
            return "the response (\(status.hex)) carries no R-MAC although the session protects responses"
        case .responseMACMismatch:
            return "the response's R-MAC does not verify: the response was altered or did not come from the authenticated card"
        case .commandMACMismatch:
            return "the command's C-MAC does not verify"
        case .dataWithErrorStatus(let status, let length):
            return "the card sent \(length) data bytes with error status \(status.hex); a protected session allows none"
        case .badPadding:
            return "the decrypted data does not end in ISO 9797-1 method 2 padding"
        case .responseNotBlockAligned(let length):
            return "the encrypted response part is \(length) bytes, not whole AES blocks"
        case .counterExhausted:
            return "the session's encryption counter is used up; open a new session"
        case .commandTooLong(let plain, let limit):
            return "\(plain) command data bytes exceed the \(limit) this session can carry in one APDU; split the command"
        case .expectedLengthTooLong(let asked, let limit):
            return "a response of \(asked) bytes cannot come back protected in one APDU (at most \(limit)); read in smaller pieces"
        case .challengeLengthRefused(let mode):
            return "the card refused INITIALIZE UPDATE with a host challenge of \(mode) bytes (6700): its keys likely use S\(mode == 8 ? 16 : 8) challenges; set \"mode\": \"S\(mode == 8 ? 16 : 8)\" in the key file (not retried: dmboot does not guess a key set's mode)"
        case .encryptionKeyWrong(let operation):
            return "the card refused the first encrypted command (\(operation)) with 6982 after its pseudo-random challenge did not match: Key-ENC is wrong (Key-MAC is right, the card accepted EXTERNAL AUTHENTICATE); check the ENC key of the key source"
        case .sessionClosed:
            return "the secure channel was closed by an earlier failure; open a new session"
        }
    }
}
