import Foundation
import APDU

/// Turns script text into statements, checking every line before anything
/// runs, so a factory script with a typo fails before it touches a card.
public struct ScriptParser {
    public static let commands = [
        "readers", "connect", "disconnect", "reset", "atr", "send", "select", "read", "scp03", "pkcs15", "trace", "set",
        "echo", "sleep", "include", "expect", "help",
    ]

    public init() {}

    public func parse(_ text: String, file: String) throws -> [ScriptLine] {
        var lines: [ScriptLine] = []
        var problems: [ScriptSyntaxError.Problem] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                lines.append(ScriptLine(file: file, number: index + 1, text: line, statement: try parseLine(line)))
            } catch let reason as Reason {
                problems.append(.init(file: file, line: index + 1, text: line, reason: reason.text))
            }
        }
        guard problems.isEmpty else { throw ScriptSyntaxError(problems: problems) }
        return lines
    }

    struct Reason: Error { let text: String }

    /// Words, with "double quotes" keeping spaces together.
    static func words(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        var started = false
        for character in line {
            if character == "\"" {
                quoted.toggle()
                started = true
            } else if character.isWhitespace && !quoted {
                if started { words.append(current) }
                current = ""
                started = false
            } else {
                current.append(character)
                started = true
            }
        }
        guard !quoted else { throw Reason(text: "a quote is not closed") }
        if started { words.append(current) }
        return words
    }

    /// Splits `words` at "expect": what comes before, and the pattern after.
    static func expectation(_ words: ArraySlice<String>) throws -> (ArraySlice<String>, String?) {
        guard let index = words.firstIndex(of: "expect") else { return (words, nil) }
        let rest = words[(index + 1)...]
        guard rest.count == 1 else { throw Reason(text: "expect takes one status pattern, such as 9000 or 61XX") }
        try checkPattern(rest.first!)
        return (words[..<index], rest.first!)
    }

    static func checkPattern(_ text: String) throws {
        guard !text.contains("$") else { return }
        do { _ = try StatusPattern(text) } catch { throw Reason(text: "\(error)") }
    }

    static func checkHex(_ text: String, what: String) throws {
        guard !text.contains("$") else { return }
        do { _ = try Hex.decode(text) } catch { throw Reason(text: "\(what): \(error)") }
    }

    func parseLine(_ line: String) throws -> Statement {
        let words = try Self.words(line)
        guard let command = words.first?.lowercased() else { throw Reason(text: "empty line") }
        let arguments = words.dropFirst()
        func none() throws {
            guard arguments.isEmpty else { throw Reason(text: "\(command) takes no arguments") }
        }
        switch command {
        case "readers": try none(); return .readers
        case "disconnect": try none(); return .disconnect
        case "reset": try none(); return .reset
        case "atr": try none(); return .atr
        case "pkcs15": try none(); return .pkcs15
        case "connect":
            guard arguments.count <= 1 else { throw Reason(text: "connect takes one reader (quote names with spaces)") }
            return .connect(reader: arguments.first)
        case "send":
            let (hexWords, expect) = try Self.expectation(arguments)
            let hex = hexWords.joined(separator: " ")
            guard !hex.isEmpty else { throw Reason(text: "send needs an APDU in hex") }
            try Self.checkHex(hex, what: "the APDU")
            if !hex.contains("$") {
                do { _ = try CommandAPDU(bytes: Hex.decode(hex)) } catch { throw Reason(text: "the APDU: \(error)") }
            }
            return .send(hex: hex, expect: expect)
        case "select":
            let (rest, expect) = try Self.expectation(arguments)
            guard rest.count == 2, let kind = Statement.SelectKind(rawValue: rest.first!.lowercased()) else {
                throw Reason(text: "select takes aid, fid or path, then hex: select aid A000000063504B43532D3135")
            }
            try Self.checkHex(rest.last!, what: "the \(kind.rawValue)")
            return .select(kind: kind, value: rest.last!, expect: expect)
        case "read":
            let (rest, expect) = try Self.expectation(arguments)
            switch rest.first?.lowercased() {
            case "binary":
                guard rest.count <= 3 else { throw Reason(text: "read binary takes an offset and a length") }
                let values = Array(rest.dropFirst())
                for value in values where !value.contains("$") && Int(value) == nil {
                    throw Reason(text: "\"\(value)\" is not a number")
                }
                return .readBinary(offset: values.first ?? "0", length: values.count > 1 ? values[1] : "0", expect: expect)
            case "all":
                guard rest.count == 1, expect == nil else { throw Reason(text: "read all takes nothing more") }
                return .readAll
            case "record":
                guard rest.count == 2 else { throw Reason(text: "read record takes a record number") }
                if !rest.last!.contains("$") && Int(rest.last!) == nil { throw Reason(text: "\"\(rest.last!)\" is not a number") }
                return .readRecord(number: rest.last!, expect: expect)
            default:
                throw Reason(text: "read takes binary, record or all")
            }
        case "scp03":
            switch arguments.first?.lowercased() {
            case "open":
                var level = "33"
                var keys: String?
                var testKeys = false
                var rest = arguments.dropFirst()
                while let option = rest.first?.lowercased() {
                    rest = rest.dropFirst()
                    switch option {
                    case "level":
                        guard let value = rest.first else { throw Reason(text: "level needs a value such as 33") }
                        level = value
                        rest = rest.dropFirst()
                    case "keys":
                        guard let value = rest.first else { throw Reason(text: "keys needs a key file") }
                        keys = value
                        rest = rest.dropFirst()
                    case "gp-test-keys": testKeys = true
                    default: throw Reason(text: "scp03 open takes level HEX, keys FILE or gp-test-keys; not \"\(option)\"")
                    }
                }
                return .openSecureChannel(level: level, keys: keys, testKeys: testKeys)
            case "close":
                guard arguments.count == 1 else { throw Reason(text: "scp03 close takes no arguments") }
                return .closeSecureChannel
            default:
                throw Reason(text: "scp03 takes open or close")
            }
        case "trace":
            switch arguments.first?.lowercased() {
            case "on" where arguments.count == 1: return .trace(true)
            case "off" where arguments.count == 1: return .trace(false)
            default: throw Reason(text: "trace takes on or off")
            }
        case "set":
            guard arguments.count >= 2, let name = arguments.first, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw Reason(text: "set takes a name (letters, digits, _) and a value")
            }
            return .set(name: name, value: arguments.dropFirst().joined(separator: " "))
        case "echo": return .echo(arguments.joined(separator: " "))
        case "sleep":
            guard arguments.count == 1, arguments.first!.contains("$") || Double(arguments.first!).map({ $0 >= 0 }) == true else {
                throw Reason(text: "sleep takes a number of seconds")
            }
            return .sleep(arguments.first!)
        case "include":
            guard arguments.count == 1 else { throw Reason(text: "include takes one script file") }
            return .include(arguments.first!)
        case "expect":
            guard arguments.count == 1 else { throw Reason(text: "expect takes one status pattern") }
            try Self.checkPattern(arguments.first!)
            return .expect(arguments.first!)
        case "help":
            guard arguments.count <= 1 else { throw Reason(text: "help takes at most a command name") }
            return .help(arguments.first)
        default:
            // A line of hex alone is an APDU to send.
            if (try? Hex.decode(words.joined())) != nil {
                return try parseLine("send " + line)
            }
            throw Reason(text: "unknown command \"\(words.first!)\"; help lists the commands")
        }
    }
}

extension Character {
    var isHexDigit: Bool { hexDigitValue != nil }
}
