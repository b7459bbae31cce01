import Foundation
import XCTest

/// `openssl s_server` on a loopback port of its own, started and stopped by
/// a test: the real peer the TLS check talks to (unit tests and the
/// command's tests). s_server binds port 0 itself and says which port it got
/// ("ACCEPT 127.0.0.1:PORT" on stdout), so no port is picked free by the test
/// and then raced for.
public final class TLSPeer {
    public let port: UInt16
    private let process: Process

    public init(arguments: [String], folder: URL) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_server", "-accept", "127.0.0.1:0", "-naccept", "1"] + arguments
        process.currentDirectoryURL = folder
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = Pipe()
        try process.run()
        // Read up to the ACCEPT line, then drain the rest so s_server never blocks on a full pipe.
        let reader = output.fileHandleForReading
        var seen = ""
        var accepted: UInt16?
        while accepted == nil, case let chunk = reader.availableData, !chunk.isEmpty {
            seen += String(decoding: chunk, as: UTF8.self)
            accepted = Self.acceptedPort(in: seen)
        }
        Thread.detachNewThread { while !reader.availableData.isEmpty {} }
        guard let port = accepted else {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            throw NSError(domain: "TLSPeer", code: 1, userInfo: [NSLocalizedDescriptionKey: "s_server did not start: \(arguments)"])
        }
        self.port = port
    }

    deinit {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// The port in s_server's "ACCEPT 127.0.0.1:PORT" line, once the whole line is there.
    static func acceptedPort(in text: String) -> UInt16? {
        guard let start = text.range(of: "ACCEPT 127.0.0.1:")?.upperBound,
              let end = text[start...].firstIndex(of: "\n") else { return nil }
        return UInt16(text[start..<end])
    }

    /// Waits until s_server has served its `-naccept` connections and left.
    public func waitUntilExit() {
        process.waitUntilExit()
    }
}

/// A loopback port that refuses connections for as long as this value lives:
/// a socket bound to it that does not listen. Holding the port keeps any
/// other process from taking it while the test counts on the refusal.
public final class ClosedPort {
    public let port: UInt16
    private let descriptor: Int32

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = descriptor >= 0 && withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            let reason = String(cString: strerror(errno))
            if descriptor >= 0 { close(descriptor) }
            throw NSError(domain: "ClosedPort", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot bind a loopback port: \(reason)"])
        }
        self.descriptor = descriptor
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit {
        close(descriptor)
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
