import ExitContract
import Foundation

/// The one JSON encoder of every tool's output: a document (pretty printed,
/// sorted keys, slashes as they are) for stdout and files, or a JSON Lines
/// line (one object a line) for logs a script reads line by line.
///
/// Times are ISO 8601 in UTC with milliseconds, as results records carry them.
///
/// Output is built from `Encodable` types, so a key cannot be misspelt in one
/// place and a value cannot be something JSON has no form for; what is left,
/// a non-finite `Double`, is a thrown `JSONOutputError`, never a trap.
public enum JSONOutput {
    /// `value` as a pretty-printed document with sorted keys, no trailing line break.
    public static func document(_ value: some Encodable) throws(JSONOutputError) -> Data {
        try encode(value, formatting: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// `value` as one line of JSON Lines (sorted keys), with its line break.
    public static func line(_ value: some Encodable) throws(JSONOutputError) -> Data {
        try encode(value, formatting: [.sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
    }

    private static func encode(_ value: some Encodable, formatting: JSONEncoder.OutputFormatting) throws(JSONOutputError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date))
        }
        do {
            return try encoder.encode(value)
        } catch let error as EncodingError {
            guard case .invalidValue(let value, let context) = error else { throw .notRepresentable(path: "", reason: "\(error)") }
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            throw .notRepresentable(path: path, reason: "\(value) has no JSON form")
        } catch {
            throw .notRepresentable(path: "", reason: "\(error)")
        }
    }
}

/// A value the output could not carry: a bug in the command that built it
/// (internal error), reported instead of crashing or writing half a document.
public enum JSONOutputError: Error, Equatable, CustomStringConvertible, ClassifiedFailure {
    case notRepresentable(path: String, reason: String)

    public var description: String {
        switch self {
        case .notRepresentable(let path, let reason):
            return "cannot write the JSON output: \(path.isEmpty ? "" : "at \(path), ")\(reason) (a bug: please report it)"
        }
    }

    public var exitStatus: ExitStatus { .internalError }
}

/// An optional member that is written as `null` when absent. Synthesized
/// `Encodable` leaves a nil member out; the documented shapes print `null`
/// for these keys, so a script finds every key in every object.
@propertyWrapper
public struct NullWhenAbsent<Value: Encodable & Sendable>: Encodable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension NullWhenAbsent: Equatable where Value: Equatable {}
