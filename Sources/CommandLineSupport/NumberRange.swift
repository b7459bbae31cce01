import ArgumentParser

/// Range checks for numeric options. The argument parser takes nan, inf and
/// 1e10 as numbers, and a timer or a count given one of them would fail or
/// trap far from the flag; each option says here what it takes.
public enum NumberRange {
    public static func check(_ value: Double, _ flag: String, _ range: ClosedRange<Double>, unit: String = "seconds") throws {
        guard value.isFinite, range.contains(value) else {
            let problem = value.isNaN ? "not a number" : value.isInfinite ? "infinite" : "out of range"
            throw ValidationError("\(flag) takes \(unit) from \(text(range.lowerBound)) to \(text(range.upperBound)); \(text(value)) is \(problem)")
        }
    }

    public static func check(_ value: Int, _ flag: String, _ range: ClosedRange<Int>, unit: String) throws {
        guard range.contains(value) else {
            throw ValidationError("\(flag) takes \(unit) from \(range.lowerBound) to \(range.upperBound); \(value) is out of range")
        }
    }

    private static func text(_ value: Double) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
    }
}
