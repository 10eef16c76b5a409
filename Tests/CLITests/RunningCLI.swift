import Foundation
import Snapshots
import XCTest

/// A `deconvscope` process the test watches while it runs: its output is collected as it
/// arrives, so the test can act (e.g. send SIGKILL) at the moment a given line appears.
final class RunningCLI {
    let process = Process()
    private let lock = NSLock()
    private var stdoutText = ""
    private var stderrText = ""

    init(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws {
        process.executableURL = CLI.binary
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        out.fileHandleForReading.readabilityHandler = { [weak self] h in self?.append(h.availableData, toStderr: false) }
        err.fileHandleForReading.readabilityHandler = { [weak self] h in self?.append(h.availableData, toStderr: true) }
        try process.run()
    }

    private func append(_ data: Data, toStderr: Bool) {
        lock.lock(); defer { lock.unlock() }
        if toStderr { stderrText += String(decoding: data, as: UTF8.self) } else { stdoutText += String(decoding: data, as: UTF8.self) }
    }

    var stdout: String { lock.lock(); defer { lock.unlock() }; return stdoutText }
    var stderr: String { lock.lock(); defer { lock.unlock() }; return stderrText }

    /// Polls every 2 ms until `text` appears on stdout or stderr; false on timeout or exit without it.
    func waitFor(_ text: String, timeout: TimeInterval = 120) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stdout.contains(text) || stderr.contains(text) { return true }
            if !process.isRunning { return stdout.contains(text) || stderr.contains(text) }
            usleep(2_000)
        }
        return false
    }

    /// `kill -9`, then waits for the process to be gone.
    func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for a normal exit (kills the process after `timeout`) and returns its status.
    func finish(timeout: TimeInterval = 300) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { killHard(); XCTFail("process did not finish in \(timeout) s: \(stdout)\n\(stderr)") }
        process.waitUntilExit()
        usleep(50_000)   // let the pipe handlers deliver the last bytes
        return process.terminationStatus
    }
}

/// Snapshot checks shared by the fault tests.
enum SnapshotChecks {
    /// Every `epoch-NNNN.h5` in `directory` loads with our reader, and with h5py when python3 has it.
    static func assertAllLoad(in directory: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let snapshots = try SnapshotFiles.list(in: directory)
        for (epoch, path) in snapshots {
            do {
                let s = try Snapshot.read(from: path)
                XCTAssertEqual(s.epoch, epoch, path, file: file, line: line)
            } catch {
                XCTFail("\(path) does not load: \(error)", file: file, line: line)
            }
        }
        guard h5pyAvailable else { return }
        let script = """
        import sys, h5py
        for p in sys.argv[1:]:
            with h5py.File(p, 'r') as f:
                assert f.attrs['format'] == 'deconvscope.snapshot', p
                f.visititems(lambda n, o: o[()] if isinstance(o, h5py.Dataset) else None)
        """
        let r = try runTool("/usr/bin/env", ["python3", "-c", script] + snapshots.map(\.path))
        XCTAssertEqual(r.status, 0, "h5py cannot read every snapshot: \(r.stderr)", file: file, line: line)
    }

    static let h5pyAvailable: Bool = (try? runTool("/usr/bin/env", ["python3", "-c", "import h5py"]).status) == 0

    /// Same step, weights, biases, momentum buffers and generator state, bit for bit.
    static func assertBitIdentical(_ a: String, _ b: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try Snapshot.read(from: a), y = try Snapshot.read(from: b)
        XCTAssertEqual(x.epoch, y.epoch, file: file, line: line)
        XCTAssertEqual(x.step, y.step, file: file, line: line)
        XCTAssertEqual(x.trainerState?.rngState, y.trainerState?.rngState, "random state", file: file, line: line)
        XCTAssertEqual(Set(x.weights.keys), Set(y.weights.keys), file: file, line: line)
        for (group, left, right) in [("weights", x.weights, y.weights), ("optimizer", x.optimizer, y.optimizer)] {
            for (name, p) in left {
                guard let q = right[name] else { XCTFail("\(b) lacks \(group)/\(name)", file: file, line: line); continue }
                XCTAssertEqual(p.weight.data.map(\.bitPattern), q.weight.data.map(\.bitPattern), "\(group)/\(name)/weight", file: file, line: line)
                XCTAssertEqual(p.bias.data.map(\.bitPattern), q.bias.data.map(\.bitPattern), "\(group)/\(name)/bias", file: file, line: line)
            }
        }
    }

    static func runTool(_ executable: String, _ arguments: [String]) throws -> CLI.Result {
        try CLI.runProgram(executable, arguments)
    }
}
