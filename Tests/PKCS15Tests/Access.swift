import CardSimulator

/// The demo card's bootstrap bytes, as the simulator ships them.
enum BuiltInProfilesAccess {
    static var demoBootstrap: [UInt8] { BuiltInProfiles.demoBootstrap }
}
