/// The script's variables: those it sets, `$i` of a repeat, and `$sw`,
/// `$sw1`, `$sw2`, `$response` of the last answer. Arguments are expanded
/// only when their line runs, so a line sees what the lines before it left.
final class ScriptVariables {
    /// Longest value a variable may hold: `set x $x$x` must not eat the memory.
    static let maxLength = 65_536

    private(set) var values: [String: String] = [:]

    subscript(name: String) -> String? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// Replaces $name and ${name} with variable values.
    func substitute(_ text: String) throws -> String {
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            var nameStart = text.index(after: index)
            var braced = false
            if nameStart < text.endIndex && text[nameStart] == "{" {
                braced = true
                nameStart = text.index(after: nameStart)
            }
            var nameEnd = nameStart
            while nameEnd < text.endIndex && (text[nameEnd].isLetter || text[nameEnd].isNumber || text[nameEnd] == "_") {
                nameEnd = text.index(after: nameEnd)
            }
            let name = String(text[nameStart..<nameEnd])
            guard !name.isEmpty, let value = values[name] else { throw ScriptFailure.unknownVariable(name) }
            result += value
            guard result.utf8.count <= Self.maxLength else {
                throw ScriptFailure.invalidArgument("expanding variables gives more than \(Self.maxLength) characters")
            }
            index = nameEnd
            if braced {
                guard index < text.endIndex, text[index] == "}" else { throw ScriptFailure.unknownVariable(name) }
                index = text.index(after: index)
            }
        }
        return result
    }

    /// An argument that must expand to a whole number in `range`.
    func bounded(_ text: String, _ what: String, _ range: ClosedRange<Int>) throws -> Int {
        let value = try substitute(text)
        guard let number = Int(value), range.contains(number) else {
            throw ScriptFailure.invalidArgument("\(what) \"\(value)\" is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }
}
