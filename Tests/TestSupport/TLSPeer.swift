import Foundation
import XCTest

/// `openssl s_server` on a free loopback port, started and stopped by a test:
/// the real peer the TLS check talks to (unit tests and the command's tests).
public final class TLSPeer {
    public let port: UInt16
    private let process: Process

    /// Starts s_server on `port`, or on a free port. A free port can be taken
    /// by another process between the look and s_server's bind; s_server then
    /// exits, and a new port is tried.
    public init(port: UInt16? = nil, arguments: [String], folder: URL) throws {
        var attempt = 0
        while true {
            attempt += 1
            let candidate = port ?? TLSPeer.freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["s_server", "-accept", "127.0.0.1:\(candidate)", "-naccept", "1", "-quiet"] + arguments
            process.currentDirectoryURL = folder
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = Pipe()
            try process.run()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning && !TLSPeer.listening(candidate) && Date() < deadline { usleep(20_000) }
            // Listening is only ours if s_server is still there once the port is up.
            if process.isRunning && TLSPeer.listening(candidate) {
                self.port = candidate
                self.process = process
                return
            }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            guard port == nil, attempt < 5 else {
                throw NSError(domain: "TLSPeer", code: 1, userInfo: [NSLocalizedDescriptionKey: "s_server did not start: \(arguments)"])
            }
        }
    }

    deinit {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// Waits until s_server has served its `-naccept` connections and left, freeing the port.
    public func waitUntilExit() {
        process.waitUntilExit()
    }

    public static func freePort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getsockname(fd, $0, &length)
        } }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Whether something listens: checked through /proc, so no probe connection uses up -naccept.
    public static func listening(_ port: UInt16) -> Bool {
        let hex = String(format: ":%04X", port)
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[1].hasSuffix(hex) && fields[3] == "0A"
        }
    }
}

/// A throwaway PKI made with the openssl command: a CA, a server and a client certificate.
public struct TestPKI {
    public let folder: URL

    public init(folder: URL) {
        self.folder = folder
    }

    public func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = folder
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, arguments.joined(separator: " "))
    }

    /// `name`.key, `name`.pem and `name`.der signed by `ca` (self-signed when nil).
    public func issue(_ name: String, commonName: String, by ca: String?, serverName: String? = nil) throws {
        try run(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-subj", "/CN=\(commonName)",
                 "-out", "\(name).csr"])
        var arguments = ["x509", "-req", "-in", "\(name).csr", "-days", "2", "-out", "\(name).pem"]
        if let ca {
            arguments += ["-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-CAcreateserial"]
        } else {
            arguments += ["-signkey", "\(name).key"]
        }
        if let serverName {
            try Data("subjectAltName=DNS:\(serverName),IP:127.0.0.1\n".utf8).write(to: folder.appendingPathComponent("\(name).ext"))
            arguments += ["-extfile", "\(name).ext"]
        } else if ca == nil {
            try Data("basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n".utf8)
                .write(to: folder.appendingPathComponent("\(name).ext"))
            arguments += ["-extfile", "\(name).ext"]
        }
        try run(arguments)
        try run(["x509", "-in", "\(name).pem", "-outform", "DER", "-out", "\(name).der"])
        try run(["pkcs8", "-topk8", "-nocrypt", "-in", "\(name).key", "-outform", "DER", "-out", "\(name).key.der"])
    }

    public func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: folder.appendingPathComponent(name))) }
}
