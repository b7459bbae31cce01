import CardSimulator
import CommandLineSupport
import ExitContract
import Foundation

/// --write-keys: the card's SCP03 keys as a dmboot key file (dmboot-keys(5)),
/// created 0600, never over a file that may hold other keys unless asked.
struct KeyFileWriting {
    let path: String
    let replacing: Bool

    enum Refusal: ClassifiedFailure, CustomStringConvertible {
        case noSecurityDomain(card: String)
        case fileExists(String)

        var exitStatus: ExitStatus {
            switch self {
            case .noSecurityDomain: return .usage
            case .fileExists: return .fileError
            }
        }

        var description: String {
            switch self {
            case .noSecurityDomain(let card):
                return "the card \"\(card)\" has no SCP03 security domain, so no keys; nothing was written"
            case .fileExists(let path):
                return "\(path) exists and may hold other keys; nothing was written (--force replaces it)"
            }
        }
    }

    func write(keysOf profile: CardProfile) throws {
        guard let domain = profile.scp03 else { throw Refusal.noSecurityDomain(card: profile.name) }
        if !replacing && FileManager.default.fileExists(atPath: path) { throw Refusal.fileExists(path) }
        try PrivateFile.write(try domain.keyFileJSON(), to: path)
        Output.progress("dmboot-sim: wrote the SCP03 keys of \"\(profile.name)\" to \(path) (mode 0600)")
    }
}
