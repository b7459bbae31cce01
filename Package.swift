// swift-tools-version:6.0
import PackageDescription

/// Linux only (Debian 12 and later): the transport is pcsc-lite, the
/// simulator speaks glibc sockets, and SwiftPM has no way to name Linux in
/// `platforms`, so no other platform is listed as if it were supported.
///
/// Layers, lowest first. Each target depends only on targets above it in this list;
/// the executables are the only places that know every layer.
let package = Package(
    name: "dmboot",
    products: [
        .executable(name: "dmboot", targets: ["dmboot"]),
        .executable(name: "apdu-shell", targets: ["apdu-shell"]),
        // The virtual card and the vpcd feeder: demo keys and card-side SCP03
        // stay out of the factory binary (dmboot).
        .executable(name: "dmboot-sim", targets: ["dmboot-sim"]),
        // The web server of `dmboot dashboard` and `station --metrics`: NIO stays out of dmboot itself.
        .executable(name: "dmboot-dashboard", targets: ["dmboot-dashboard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Known-answer vectors shared by several test targets live in
        // Tests/Vectors and are read by path (see each target's VectorFiles).
        .systemLibrary(name: "CPCSCLite", pkgConfig: "libpcsclite",
                       providers: [.apt(["libpcsclite-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit",
                       providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0",
                       providers: [.apt(["libxml2-dev"])]),
        // Headers only: a PKCS#11 module is dlopened from the path its URI names.
        .systemLibrary(name: "CPKCS11", pkgConfig: "p11-kit-1",
                       providers: [.apt(["libp11-kit-dev"])]),

        .target(name: "TerminalText"),
        // The exit-code contract, below every layer: each layer's errors state their class.
        .target(name: "ExitContract"),
        // Files a user names: paths without Foundation's traps, and one rule for every secret file.
        .target(name: "LocalFiles", dependencies: ["ExitContract"]),
        // The one JSON encoder of every tool's output, over Encodable types.
        .target(name: "JSONOutput", dependencies: ["ExitContract"]),
        .target(name: "APDU", dependencies: ["ExitContract"]),
        .target(name: "CardTransport", dependencies: ["APDU", "CPCSCLite", "ExitContract"]),
        .target(name: "CardCrypto", dependencies: ["COpenSSL"]),
        .target(name: "SecureChannel", dependencies: ["APDU", "CardTransport", "CardCrypto", "ExitContract", "LocalFiles"]),
        .target(name: "PKCS15", dependencies: ["APDU", "CardTransport", "ExitContract"]),
        .target(name: "KeyCustody", dependencies: ["APDU", "CardCrypto", "SecureChannel", "CPKCS11", "ExitContract", "LocalFiles"]),
        // Every way to name SCP03 keys resolves here to one SCP03KeySource.
        .target(name: "KeySources", dependencies: ["APDU", "SecureChannel", "KeyCustody"]),
        .target(name: "DMBootstrap", dependencies: ["APDU", "CardCrypto", "CLibXML2", "ExitContract", "JSONOutput"]),
        .target(name: "DMTree", dependencies: ["DMBootstrap", "CardCrypto", "CSQLite", "ExitContract", "JSONOutput", "LocalFiles"]),
        .target(name: "CardSession", dependencies: ["APDU", "CardTransport", "SecureChannel", "PKCS15"]),
        .target(name: "Provisioning", dependencies: ["CardSession", "DMBootstrap", "DMTree", "PKCS15", "SecureChannel",
                                                     "ExitContract", "LocalFiles"]),
        .target(name: "APDUScript", dependencies: ["APDU", "CardTransport", "SecureChannel", "KeySources", "KeyCustody", "PKCS15", "CardSession",
                                                   "CardCrypto", "CommandLineSupport", "DMBootstrap", "CEditLine", "TerminalText", "LocalFiles"]),
        .target(name: "ServerCheck", dependencies: ["CardCrypto", "DMBootstrap", "ExitContract"]),
        .target(name: "MCIM", dependencies: ["CardCrypto", "ExitContract"]),
        // What a card's provisioning leaves behind, and where it goes (ResultSink).
        // The one definition of a line's numbers (yield, rate, duplicates, failures), for every view of them.
        .target(name: "LineFigures", dependencies: ["ExitContract"]),
        .target(name: "CardResults", dependencies: ["ExitContract", "LineFigures"]),
        .target(name: "Station", dependencies: ["CardTransport", "CardResults"]),
        // The factory pipeline: a station's job per card, its results and its status board.
        .target(name: "StationPipeline", dependencies: ["APDU", "CardResults", "CardTransport", "ExitContract", "LineFigures", "Provisioning",
                                                        "Station", "TerminalText"]),
        .target(name: "Results", dependencies: ["CLibPQ", "ExitContract", "LineFigures", "LocalFiles"]),
        // The results database behind the pipeline's seams: a claim per card (CardAdmission), then its record.
        .target(name: "StationResults", dependencies: ["CardResults", "ExitContract", "Provisioning", "Results", "Station",
                                                       "StationPipeline"]),
        .target(name: "CardSimulator", dependencies: ["APDU", "CardCrypto", "SecureChannel", "PKCS15", "ExitContract",
                                                      "JSONOutput"]),
        // What every executable shares: how it runs its command line and ends with the exit-code contract
        // (ToolEntry), where it writes, numeric option ranges, files created 0600.
        .target(name: "CommandLineSupport", dependencies: [
            "ExitContract", "JSONOutput", "LocalFiles", "TerminalText", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "dmboot", dependencies: [
            "JSONOutput",
            "APDU", "CardTransport", "CardCrypto", "SecureChannel", "KeySources", "PKCS15", "CardSession", "DMBootstrap", "DMTree", "Provisioning",
            "ServerCheck", "MCIM", "Station", "StationPipeline", "CardResults", "Results", "StationResults", "TerminalText", "ExitContract", "KeyCustody",
            "LineFigures", "CommandLineSupport", "LocalFiles", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "dmboot-sim", dependencies: [
            "CardSimulator", "CommandLineSupport", "ExitContract", "JSONOutput", "TerminalText",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "dmboot-dashboard", dependencies: [
            "Results", "CommandLineSupport", "ExitContract",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The writer side of scripts/bench-results.sh (not a product).
        .executableTarget(name: "results-bench", dependencies: ["Results", "JSONOutput"]),
        .executableTarget(name: "apdu-shell", dependencies: [
            "APDU", "CardCrypto", "CardTransport", "APDUScript", "CommandLineSupport", "JSONOutput", "TerminalText", "ExitContract",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "TerminalTextTests", dependencies: ["TerminalText"]),
        .testTarget(name: "LocalFilesTests", dependencies: ["LocalFiles"]),
        .testTarget(name: "JSONOutputTests", dependencies: ["JSONOutput"]),
        .testTarget(name: "CommandLineSupportTests", dependencies: [
            "CommandLineSupport", "JSONOutput", "ExitContract", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "APDUTests", dependencies: ["APDU"]),
        .testTarget(name: "LineFiguresTests", dependencies: ["LineFigures"]),
        .testTarget(name: "CardTransportTests", dependencies: ["CardTransport"]),
        .testTarget(name: "CardCryptoTests", dependencies: ["CardCrypto", "APDU", "TestSupport"]),
        .testTarget(name: "SecureChannelTests", dependencies: ["SecureChannel", "CardSimulator", "LocalFiles"],
                    exclude: ["put_key_oracle.py"]),
        .testTarget(name: "DMBootstrapTests", dependencies: ["DMBootstrap", "JSONOutput"], exclude: ["known_answers.py"]),
        .testTarget(name: "DMTreeTests", dependencies: ["DMTree", "DMBootstrap", "JSONOutput"]),
        .testTarget(name: "ProvisioningTests", dependencies: ["Provisioning", "CardSimulator", "TestSupport"]),
        .testTarget(name: "KeySourcesTests", dependencies: ["KeySources", "SecureChannel"]),
        .testTarget(name: "APDUScriptTests", dependencies: ["APDUScript", "CardSimulator"]),
        .target(name: "TestSupport", dependencies: ["Results"], path: "Tests/TestSupport"),
        .testTarget(name: "ServerCheckTests", dependencies: ["ServerCheck", "CardCrypto", "TestSupport"]),
        .testTarget(name: "MCIMTests", dependencies: ["MCIM"], exclude: ["independent_pack.py"]),
        .testTarget(name: "StationTests", dependencies: ["Station", "CardTransport", "CardResults"]),
        .testTarget(name: "ResultsTests", dependencies: ["Results", "TestSupport"]),
        .testTarget(name: "StationResultsTests", dependencies: ["StationResults", "Results", "CardResults", "Provisioning",
                                                                "StationPipeline", "TestSupport"]),
        .testTarget(name: "PKCS15Tests", dependencies: ["PKCS15", "CardSession", "CardSimulator", "SecureChannel"]),
        .testTarget(name: "CardSimulatorTests", dependencies: ["CardSimulator"]),
        .testTarget(name: "KeyCustodyTests", dependencies: ["KeyCustody", "SecureChannel", "CardCrypto", "APDU", "CPKCS11", "LocalFiles"],
                    exclude: ["pysim_csv.py"]),
        .testTarget(name: "IntegrationTests", dependencies: ["CardTransport", "SecureChannel", "CardSimulator", "APDUScript",
                                                            "Results", "TestSupport"],
                    exclude: ["pty_session.py", "pty_debugger.py", "pty_terminal.py", "pty_pin.py", "dashboard_browser.py"]),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer harness (Fuzz/) exists only for scripts/fuzz.sh, which sets
// DMBOOT_FUZZ and builds with -sanitize=fuzzer into its own build folder:
// the normal build and CI never compile it.
if Context.environment["DMBOOT_FUZZ"] != nil {
    package.targets.append(.executableTarget(
        name: "dmboot-fuzz",
        dependencies: ["APDU", "APDUScript", "CardCrypto", "DMBootstrap", "DMTree", "LocalFiles", "MCIM", "PKCS15", "Provisioning",
                       "SecureChannel"],
        path: "Fuzz/Harness"))
}
