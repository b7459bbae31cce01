import Foundation
import LineFigures

/// `results report --batch ID --html FILE`: one batch on a page a supervisor
/// can print and file. Self-contained (inline CSS and SVG, no script, nothing
/// fetched), so it opens the same on a PC with no network years later. Every
/// value from the database is escaped: identities, reasons and batch names
/// come from cards and stations, not from us.
public struct BatchReportPage: Sendable {
    public let batch: String
    /// The batch's totals, as LineFigures defines them.
    public let total: ReportRow
    /// The batch per station and hour: the timeline.
    public let rows: [ReportRow]
    /// The batch's failed cards, oldest first.
    public let failed: [ResultRecord]
    public let generated: Date

    public init(batch: String, total: ReportRow, rows: [ReportRow], failed: [ResultRecord], generated: Date = Date()) {
        self.batch = batch
        self.total = total
        self.rows = rows
        self.failed = failed
        self.generated = generated
    }

    public var html: String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Batch \(Self.escape(batch)) — dmboot report</title>
        <style>\(Self.style)</style>
        </head>
        <body>
        <h1>Batch \(Self.escape(batch))</h1>
        <p class="meta">Generated \(Self.time(generated)) by dmboot; times in UTC. \
        Yield = succeeded ÷ (succeeded + failed); duplicates (already provisioned) are never failures (dmboot(1), THE NUMBERS).</p>
        \(countsTable)
        <section><h2>Failure classes</h2>\(failureChart)</section>
        <section><h2>Timeline (cards per hour)</h2>\(timelineChart)</section>
        <section class="failed"><h2>Failed cards (\(failed.count))</h2>\(failedTable)</section>
        </body>
        </html>

        """
    }

    static let style = """
        body { font: 13px/1.4 sans-serif; color: #1f2328; margin: 2em; }
        h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 18px 0 6px; }
        .meta { color: #57606a; }
        table { border-collapse: collapse; } th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        svg text { font-size: 11px; fill: #57606a; }
        @page { margin: 15mm; }
        @media print { body { margin: 0; } section { page-break-inside: avoid; break-inside: avoid; }
          section.failed { page-break-inside: auto; break-inside: auto; } tr { page-break-inside: avoid; break-inside: avoid; }
          thead { display: table-header-group; } }
        """

    var countsTable: String {
        let cells: [(String, String)] = [
            ("Cards", "\(total.cards)"), ("Succeeded", "\(total.succeeded)"), ("Failed", "\(total.failed)"),
            ("Duplicates", "\(total.duplicates)"), ("Yield", total.yieldPercent.map { String(format: "%.1f %%", $0) } ?? "-"),
            ("Cards per minute", total.cardsPerMinute.map { String(format: "%.1f", $0) } ?? "-"),
            ("Mean time per card", String(format: "%.0f ms", total.meanMilliseconds)),
        ]
        return "<table class=\"counts\"><tbody>"
            + cells.map { "<tr><th>\($0.0)</th><td class=\"n\">\($0.1)</td></tr>" }.joined()
            + "</tbody></table>"
    }

    /// A horizontal bar per failure class, largest first.
    var failureChart: String {
        let classes = total.failures.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        guard let largest = classes.first?.value else { return "<p>No failed card.</p>" }
        let bar = 300.0, height = classes.count * 24 + 8
        let bars = classes.enumerated().map { index, entry in
            let y = index * 24 + 8, width = bar * Double(entry.value) / Double(largest)
            return "<text x=\"2\" y=\"\(y + 12)\">\(Self.escape(entry.key))</text>"
                + "<rect x=\"180\" y=\"\(y)\" width=\"\(String(format: "%.1f", width))\" height=\"16\" fill=\"#cf222e\"/>"
                + "<text x=\"\(String(format: "%.1f", 184 + width))\" y=\"\(y + 12)\">\(entry.value)</text>"
        }
        return "<svg role=\"img\" aria-label=\"failure classes\" "
            + "width=\"540\" height=\"\(height)\" viewBox=\"0 0 540 \(height)\">" + bars.joined() + "</svg>"
    }

    /// Stacked bars per hour: succeeded (green), duplicates (grey), failed (red).
    var timelineChart: String {
        var hours: [Date: LineFigures] = [:]
        for row in rows {
            guard let hour = row.hour else { continue }
            hours[hour, default: LineFigures()].merge(LineFigures(succeeded: row.succeeded, duplicates: row.duplicates,
                                                                  failures: row.failures, firstStart: nil, lastEnd: nil))
        }
        let buckets = hours.sorted { $0.key < $1.key }
        guard let largest = buckets.map(\.value.cards).max(), largest > 0 else { return "<p>No card.</p>" }
        let left = 40.0, width = 640.0, plot = 160.0, top = 10.0
        let step = (width - left) / Double(buckets.count)
        var parts = (0...4).map { tick -> String in
            let y = top + plot - plot * Double(tick) / 4
            return "<line x1=\"\(left)\" x2=\"\(width)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#d8dee4\"/>"
                + "<text x=\"2\" y=\"\(y + 4)\">\(Int((Double(largest) * Double(tick) / 4).rounded()))</text>"
        }
        let labelEvery = max(1, buckets.count / 8)
        for (index, bucket) in buckets.enumerated() {
            var base = top + plot
            let x = left + Double(index) * step
            for (count, color) in [(bucket.value.succeeded, "#2da44e"), (bucket.value.duplicates, "#8c959f"),
                                   (bucket.value.failed, "#cf222e")] where count > 0 {
                let h = plot * Double(count) / Double(largest)
                base -= h
                parts.append("<rect x=\"\(String(format: "%.1f", x + 1))\" y=\"\(String(format: "%.1f", base))\" "
                             + "width=\"\(String(format: "%.1f", max(1, step - 2)))\" height=\"\(String(format: "%.1f", h))\" fill=\"\(color)\"/>")
            }
            if index % labelEvery == 0 {
                parts.append("<text x=\"\(String(format: "%.1f", x + 1))\" y=\"\(top + plot + 16)\">\(Self.hour(bucket.key))</text>")
            }
        }
        let legend = [("succeeded", "#2da44e"), ("duplicates", "#8c959f"), ("failed", "#cf222e")].enumerated().map { index, entry in
            "<rect x=\"\(left + Double(index) * 110)\" y=\"\(top + plot + 26)\" width=\"10\" height=\"10\" fill=\"\(entry.1)\"/>"
                + "<text x=\"\(left + Double(index) * 110 + 14)\" y=\"\(top + plot + 35)\">\(entry.0)</text>"
        }
        let height = Int(top + plot + 44)
        return "<svg role=\"img\" aria-label=\"cards per hour\" "
            + "width=\"\(Int(width))\" height=\"\(height)\" viewBox=\"0 0 \(Int(width)) \(height)\">"
            + (parts + legend).joined() + "</svg>"
    }

    var failedTable: String {
        guard !failed.isEmpty else { return "<p>No failed card.</p>" }
        let header = ["Time (UTC)", "Station", "Reader", "Card", "ICCID", "Class", "Exit", "Reason"]
        let body = failed.map { record in
            let cells = [Self.time(record.time), record.stationID, record.reader ?? "", record.cardIdentity ?? "(not read)",
                         record.iccid ?? "", record.failureClass ?? record.outcome.rawValue, "\(record.exitCode)", record.error ?? ""]
            return "<tr>" + cells.map { "<td>\(Self.escape($0))</td>" }.joined() + "</tr>"
        }
        return "<table><thead><tr>" + header.map { "<th>\($0)</th>" }.joined() + "</tr></thead><tbody>"
            + body.joined(separator: "\n") + "</tbody></table>"
    }

    /// Text safe in an HTML element or a quoted attribute; control characters
    /// (but tab and newline) become U+FFFD so none reaches the page raw.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                out.unicodeScalars.append(scalar.properties.generalCategory == .control ? "\u{FFFD}" : scalar)
            }
        }
        return out
    }

    static func time(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false)
                       .timeSeparator(.colon).timeZoneSeparator(.omitted))
    }

    static func hour(_ date: Date) -> String {
        String(time(date).dropFirst(5).prefix(11)).replacingOccurrences(of: "T", with: " ")
    }
}

extension ResultsStore {
    /// The page of one batch: its totals, its hours, its failed cards.
    public func batchReportPage(batch: String, filter: ResultsFilter) throws -> BatchReportPage {
        var filter = filter
        filter.batch = batch
        var failures = filter
        failures.outcome = ResultRecord.Outcome.failed.rawValue
        return BatchReportPage(batch: batch, total: try reportTotal(filter), rows: try report(filter), failed: try records(failures))
    }
}
