import ExitContract

extension ProfileError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .simulatorError }
}

extension SimulatorError: ClassifiedFailure {
    public var exitStatus: ExitStatus { .simulatorError }
}
