import APDU

/// The card answered a command with an error status word.
public struct CardStatusError: Error, Equatable, CustomStringConvertible {
    public let operation: String
    public let status: StatusWord

    public init(_ operation: String, _ status: StatusWord) {
        self.operation = operation
        self.status = status
    }

    public var description: String { "the card answered \(operation) with \(status)" }
}

extension CardChannel {
    /// Transmits and insists on 9000 (or a warning when `warningsAllowed`).
    public func expectSuccess(_ command: CommandAPDU, _ operation: String,
                              warningsAllowed: Bool = false) throws -> ResponseAPDU {
        let response = try transmit(command)
        guard response.status == .success || (warningsAllowed && response.status.isWarning) else {
            throw CardStatusError(operation, response.status)
        }
        return response
    }
}

extension CardChannel {
    /// SELECT by DF name in the first form the card takes: FCP (P2 04), then
    /// FCI (00), then no data (0C). A UICC refuses 00 with 6A86 (ETSI TS 102 221
    /// table 11.2) and some ISO cards refuse 04; only those two refusals (6A86,
    /// and 6B00 from older cards) move on to the next form, any other answer is
    /// the card's answer to the application. A caller that wants the FCI
    /// first (GlobalPlatform's ISD) gives its own `order`; `report` sees each
    /// exchange, for a debugger's transcript.
    public func selectApplication(_ aid: [UInt8], order: [ISOCommand.SelectResponse] = ISOCommand.SelectResponse.fallbackOrder,
                                  report: (CommandAPDU, ResponseAPDU) -> Void = { _, _ in }) throws -> ResponseAPDU {
        try select(order: order, report: report) { ISOCommand.selectApplication(aid, response: $0) }
    }

    /// Any SELECT (an EF by file id or path as well as a DF by name) in the
    /// first form the card takes, by the same rule as `selectApplication`:
    /// OpenSC's iso7816.c moves from FCP to FCI to no data on such a refusal.
    public func select(order: [ISOCommand.SelectResponse] = ISOCommand.SelectResponse.fallbackOrder,
                       report: (CommandAPDU, ResponseAPDU) -> Void = { _, _ in },
                       _ form: (ISOCommand.SelectResponse) -> CommandAPDU) throws -> ResponseAPDU {
        var response = ResponseAPDU(status: StatusWord(0x6A86))
        for kind in order {
            let command = form(kind)
            response = try transmit(command)
            report(command, response)
            guard response.status == StatusWord(0x6A86) || response.status == StatusWord(0x6B00) else { return response }
        }
        return response
    }
}
