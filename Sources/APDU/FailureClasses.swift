import ExitContract

extension Hex.ParseError: ClassifiedFailure {
    /// Hex comes from the command line or an input file argument.
    public var exitStatus: ExitStatus { .usage }
}
