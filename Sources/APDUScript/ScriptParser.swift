import APDU
import Foundation
import LocalFiles

/// Turns script text into statements, checking every line (and every
/// included file) before anything runs, so a factory script with a typo
/// fails before it touches a card.
public struct ScriptParser {
    public static let commands = [
        "readers", "connect", "disconnect", "reset", "atr", "send", "select", "read", "scp03", "pkcs15", "trace", "set",
        "echo", "sleep", "include", "expect", "help", "ls", "cd", "cat", "decode", "keys", "cplc", "status", "channel",
        "getresponse", "history", "if", "else", "end", "repeat", "fail", "watch",
    ] + changeCommands
    /// Bounds a script cannot exceed: a typo must not hang a station.
    public static let maxSleepSeconds = 600.0
    public static let maxRepeat = 10_000
    public static let maxIncludeDepth = 8
    /// Larger files are not scripts anyone wrote by hand.
    public static let maxScriptBytes = 1 << 20

    public init() {}

    /// A script file: read, checked as UTF-8, parsed with its includes.
    public func parseFile(_ path: String) throws -> [ScriptLine] {
        try parseFile(path, depth: 0, chain: [])
    }

    func parseFile(_ path: String, depth: Int, chain: [String]) throws -> [ScriptLine] {
        let bytes = try Self.readScript(path)
        let text = try Self.decodeUTF8(bytes, file: path)
        let lines = try parse(text, file: path, depth: depth, chain: chain + [Self.canonical(path)])
        guard Self.hasSteps(lines) else {
            throw ScriptSyntaxError(problems: [.init(file: path, line: 0, text: "", reason: "the script has no executable step (only comments or blank lines)")])
        }
        return lines
    }

    /// Script text from standard input: the same checks as a file.
    public func parseScript(_ bytes: [UInt8], file: String) throws -> [ScriptLine] {
        let lines = try parse(try Self.decodeUTF8(bytes, file: file), file: file)
        guard Self.hasSteps(lines) else {
            throw ScriptSyntaxError(problems: [.init(file: file, line: 0, text: "", reason: "the script has no executable step (only comments or blank lines)")])
        }
        return lines
    }

    public func parse(_ text: String, file: String) throws -> [ScriptLine] {
        try parse(text, file: file, depth: 0, chain: [])
    }

    static func hasSteps(_ lines: [ScriptLine]) -> Bool { !lines.isEmpty }

    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    static func readScript(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ScriptFailure.unreadableScript(path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw ScriptFailure.unreadableScript(path, reason: "it is a directory") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let type = attributes?[.type] as? FileAttributeType, type != .typeRegular {
            throw ScriptFailure.unreadableScript(path, reason: "not a regular file")
        }
        if let size = attributes?[.size] as? Int, size > maxScriptBytes {
            throw ScriptFailure.unreadableScript(path, reason: "\(size) bytes; a script is at most \(maxScriptBytes)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ScriptFailure.unreadableScript(path, reason: String(cString: strerror(errno)))
        }
        defer { try? handle.close() }
        do {
            return [UInt8](try handle.readToEnd() ?? Data())
        } catch {
            throw ScriptFailure.unreadableScript(path, reason: error.localizedDescription)
        }
    }

    /// UTF-8 or a syntax error naming the line and column of the first bad byte
    /// (a Latin-1 file from an old editor is the usual cause).
    public static func decodeUTF8(_ bytes: [UInt8], file: String) throws -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var line = 1
        var column = 1
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let length: Int
            switch byte {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: length = 0
            }
            let end = index + length
            if length == 0 || end > bytes.count || String(validating: bytes[index..<end], as: UTF8.self) == nil {
                throw ScriptSyntaxError(problems: [.init(
                    file: file, line: line, text: "",
                    reason: "byte \(Hex.encode([byte])) at column \(column) is not UTF-8 (save the script as UTF-8; Latin-1 is not read)")])
            }
            if byte == 0x0A { line += 1; column = 1 } else { column += 1 }
            index = end
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One parsed line, before blocks are assembled.
    private enum Item {
        case line(ScriptLine)
        case openIf(number: Int, text: String, condition: Statement.Condition)
        case openRepeat(number: Int, text: String, count: String)
        case elseMarker(number: Int, text: String)
        case end(number: Int, text: String)
    }

    func parse(_ text: String, file: String, depth: Int, chain: [String]) throws -> [ScriptLine] {
        var items: [Item] = []
        var problems: [ScriptSyntaxError.Problem] = []
        // Character-wise splitting keeps "\r\n" together as one newline.
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let number = index + 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                items.append(try item(line, number: number, file: file, depth: depth, chain: chain))
            } catch let reason as Reason {
                problems.append(.init(file: file, line: number, text: line, reason: reason.text))
            } catch let nested as ScriptSyntaxError {
                problems += nested.problems
            } catch let failure as ScriptFailure {
                problems.append(.init(file: file, line: number, text: line, reason: "\(failure)"))
            }
        }
        var lines: [ScriptLine] = []
        if problems.isEmpty {
            do {
                var position = 0
                lines = try block(items, &position, file: file, ends: []).lines
            } catch let error as ScriptSyntaxError {
                problems += error.problems
            }
        }
        guard problems.isEmpty else { throw ScriptSyntaxError(problems: problems) }
        return lines
    }

    private enum Terminator { case elseMarker, end }

    /// Lines up to one of `ends` (consumed and returned), building nested if/repeat blocks.
    private func block(_ items: [Item], _ position: inout Int, file: String, ends: Set<Terminator>) throws
        -> (lines: [ScriptLine], end: Terminator?) {
        var lines: [ScriptLine] = []
        func problem(_ number: Int, _ text: String, _ reason: String) -> ScriptSyntaxError {
            ScriptSyntaxError(problems: [.init(file: file, line: number, text: text, reason: reason)])
        }
        while position < items.count {
            let item = items[position]
            position += 1
            switch item {
            case .line(let line):
                lines.append(line)
            case .openIf(let number, let text, let condition):
                let then = try block(items, &position, file: file, ends: [.elseMarker, .end])
                var otherwise: [ScriptLine] = []
                if then.end == .elseMarker {
                    let rest = try block(items, &position, file: file, ends: [.end])
                    guard rest.end == .end else { throw problem(number, text, "if is not closed by end") }
                    otherwise = rest.lines
                } else if then.end == nil {
                    throw problem(number, text, "if is not closed by end")
                }
                lines.append(ScriptLine(file: file, number: number, text: text,
                                        statement: .ifBlock(condition: condition, then: then.lines, otherwise: otherwise)))
            case .openRepeat(let number, let text, let count):
                let body = try block(items, &position, file: file, ends: [.end])
                guard body.end == .end else { throw problem(number, text, "repeat is not closed by end") }
                lines.append(ScriptLine(file: file, number: number, text: text, statement: .repeatBlock(count: count, body: body.lines)))
            case .elseMarker(let number, let text):
                guard ends.contains(.elseMarker) else { throw problem(number, text, "else without an open if") }
                return (lines, .elseMarker)
            case .end(let number, let text):
                guard ends.contains(.end) else { throw problem(number, text, "end without an open if or repeat") }
                return (lines, .end)
            }
        }
        return (lines, nil)
    }

    private func item(_ line: String, number: Int, file: String, depth: Int, chain: [String]) throws -> Item {
        let words = try Self.words(line)
        switch words.first?.lowercased() {
        case "if":
            return .openIf(number: number, text: line, condition: try Self.condition(Array(words.dropFirst())))
        case "repeat":
            guard words.count == 2 else { throw Reason(text: "repeat takes a count: repeat 3 … end") }
            if !words[1].contains("$") { _ = try Self.bounded(words[1], what: "repeat count", 1...Self.maxRepeat) }
            return .openRepeat(number: number, text: line, count: words[1])
        case "else":
            guard words.count == 1 else { throw Reason(text: "else stands alone on its line") }
            return .elseMarker(number: number, text: line)
        case "end":
            guard words.count == 1 else { throw Reason(text: "end stands alone on its line") }
            return .end(number: number, text: line)
        case "include":
            guard words.count == 2 else { throw Reason(text: "include takes one script file") }
            let path = words[1]
            guard !path.contains("$") else {
                throw Reason(text: "include takes a literal file name, so it can be checked before the script runs")
            }
            guard depth < Self.maxIncludeDepth else { throw Reason(text: "includes nest deeper than \(Self.maxIncludeDepth)") }
            let resolved = file.hasPrefix("<") ? path : PathText.joining(PathText.folder(of: file), path)
            guard !chain.contains(Self.canonical(resolved)) else { throw Reason(text: "\(path) includes itself") }
            let lines = try parseFile(resolved, depth: depth + 1, chain: chain)
            return .line(ScriptLine(file: file, number: number, text: line, statement: .include(path: resolved, lines: lines)))
        default:
            return .line(ScriptLine(file: file, number: number, text: line, statement: try parseLine(line)))
        }
    }

    static func condition(_ words: [String]) throws -> Statement.Condition {
        let usage = "if takes sw PATTERN or response ~ PATTERN: if sw 9000 … else … end"
        guard let subject = words.first?.lowercased() else { throw Reason(text: usage) }
        switch subject {
        case "sw":
            guard words.count == 2 else { throw Reason(text: usage) }
            try checkPattern(words[1])
            return .status(words[1])
        case "response":
            guard words.count >= 3, words[1] == "~" else { throw Reason(text: usage) }
            let pattern = words.dropFirst(2).joined()
            if !pattern.contains("$") {
                do { _ = try ResponsePattern(pattern) } catch { throw Reason(text: "\(error)") }
            }
            return .response(pattern)
        default:
            throw Reason(text: usage)
        }
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

    /// A whole number within `range`, or the reason it is not.
    static func bounded(_ text: String, what: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text) else { throw Reason(text: "\(what) \"\(text)\" is not a whole number") }
        guard range.contains(value) else {
            throw Reason(text: "\(what) \(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
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
        case "ls": try none(); return .list
        case "keys": try none(); return .keys
        case "cplc": try none(); return .cplc
        case "status": try none(); return .status
        case "history": try none(); return .history
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
            if rest.count >= 2, let kind = Statement.SelectKind(rawValue: rest.first!.lowercased()) {
                let value = rest.dropFirst().joined(separator: " ")
                try Self.checkHex(value, what: "the \(kind.rawValue)")
                return .select(kind: kind, value: value, expect: expect)
            }
            guard rest.count == 1, expect == nil else {
                throw Reason(text: "select takes a name (select ODF), or aid, fid or path then hex: select aid A000000063504B43532D3135")
            }
            return .selectName(rest.first!)
        case "cd":
            guard arguments.count == 1 else { throw Reason(text: "cd takes one name, file id, AID, .. or / (quote labels with spaces)") }
            return .selectName(arguments.first!)
        case "cat":
            guard arguments.count <= 1 else { throw Reason(text: "cat takes at most one name (quote labels with spaces)") }
            return .cat(arguments.first)
        case "decode":
            var rest = arguments
            var kind = CardDecoder.Kind.auto
            if let first = rest.first, let named = CardDecoder.Kind(rawValue: first.lowercased()) {
                kind = named
                rest = rest.dropFirst()
            }
            let hex = rest.joined(separator: " ")
            guard hex.isEmpty || hex.contains("$") || (try? Hex.decode(hex)) != nil else {
                throw Reason(text: "decode takes a kind (\(CardDecoder.Kind.allCases.map(\.rawValue).joined(separator: ", "))) and/or hex; \"\(rest.first!)\" is neither")
            }
            return .decode(kind: kind, hex: hex.isEmpty ? nil : hex)
        case "read":
            let (rest, expect) = try Self.expectation(arguments)
            switch rest.first?.lowercased() {
            case "binary":
                guard rest.count <= 3 else { throw Reason(text: "read binary takes an offset and a length") }
                let values = Array(rest.dropFirst())
                if let offset = values.first, !offset.contains("$") {
                    _ = try Self.bounded(offset, what: "offset", 0...0x7FFF)
                }
                if values.count > 1, !values[1].contains("$") {
                    _ = try Self.bounded(values[1], what: "length", 0...CommandAPDU.maxExpectedLength)
                }
                return .readBinary(offset: values.first ?? "0", length: values.count > 1 ? values[1] : "0", expect: expect)
            case "all":
                guard rest.count == 1, expect == nil else { throw Reason(text: "read all takes nothing more") }
                return .readAll
            case "record":
                guard rest.count == 2 else { throw Reason(text: "read record takes a record number") }
                if !rest.last!.contains("$") { _ = try Self.bounded(rest.last!, what: "record number", 1...254) }
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
        case "channel":
            switch arguments.first?.lowercased() {
            case "open" where arguments.count == 1: return .channel(.open)
            case "close" where arguments.count <= 2:
                if arguments.count == 2, !arguments.last!.contains("$") {
                    _ = try Self.bounded(arguments.last!, what: "channel", 1...19)
                }
                return .channel(.close(arguments.count == 2 ? arguments.last! : nil))
            case let number? where arguments.count == 1:
                if !number.contains("$") { _ = try Self.bounded(number, what: "channel", 0...19) }
                return .channel(.use(number))
            default:
                throw Reason(text: "channel takes open, close [N] or a channel number 0-19")
            }
        case "trace", "getresponse":
            let on: Bool
            switch arguments.first?.lowercased() {
            case "on" where arguments.count == 1: on = true
            case "off" where arguments.count == 1: on = false
            default: throw Reason(text: "\(command) takes on or off")
            }
            return command == "trace" ? .trace(on) : .getResponse(on)
        case "set":
            guard arguments.count >= 2, let name = arguments.first, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw Reason(text: "set takes a name (letters, digits, _) and a value")
            }
            return .set(name: name, value: arguments.dropFirst().joined(separator: " "))
        case "echo": return .echo(arguments.joined(separator: " "))
        case "fail":
            return .fail(arguments.isEmpty ? "the script failed" : arguments.joined(separator: " "))
        case "sleep":
            guard arguments.count == 1 else { throw Reason(text: "sleep takes a number of seconds") }
            let value = arguments.first!
            if !value.contains("$") {
                guard let seconds = Double(value), seconds.isFinite, (0...Self.maxSleepSeconds).contains(seconds) else {
                    throw Reason(text: "sleep takes seconds from 0 to \(Int(Self.maxSleepSeconds)); not \"\(value)\"")
                }
            }
            return .sleep(value)
        case "expect":
            guard arguments.count == 1 else { throw Reason(text: "expect takes one status pattern") }
            try Self.checkPattern(arguments.first!)
            return .expect(arguments.first!)
        case "help":
            guard arguments.count <= 1 else { throw Reason(text: "help takes at most a command name") }
            return .help(arguments.first)
        case "if", "repeat", "else", "end", "include":
            throw Reason(text: "\(command) belongs in a script or on lines of its own")
        case "watch":
            guard arguments.count <= 1 else { throw Reason(text: "watch takes at most a number of seconds") }
            if let value = arguments.first, !value.contains("$") { _ = try Self.bounded(value, what: "watch seconds", 1...WatchCommand.maxSeconds) }
            return .watch(arguments.first)
        case _ where Self.changeCommands.contains(command):
            return try Self.changeStatement(command, arguments)
        default:
            // A line of hex alone is an APDU to send.
            if (try? Hex.decode(words.joined())) != nil {
                return try parseLine("send " + line)
            }
            let suggestion = Self.suggestion(for: command).map { "; did you mean \"\($0)\"?" } ?? ""
            throw Reason(text: "unknown command \"\(words.first!)\"\(suggestion) (help lists the commands)")
        }
    }

    /// The command closest to a typo, if one is close enough to be meant.
    public static func suggestion(for word: String) -> String? {
        let scored = commands.map { ($0, editDistance(word.lowercased(), $0)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored, distance <= max(1, best.count / 3) else { return nil }
        return best
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.prefix(64)), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var row = [i + 1]
            for (j, y) in b.enumerated() {
                row.append(min(previous[j + 1] + 1, row[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = row
        }
        return previous[b.count]
    }
}

extension Character {
    var isHexDigit: Bool { hexDigitValue != nil }
}
