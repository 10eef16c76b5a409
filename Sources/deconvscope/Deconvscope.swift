import ArgumentParser
import Foundation
import Snapshots
import Tensors

@main
struct Deconvscope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deconvscope",
        abstract: "Train a CNN and watch what its filters learn, epoch by epoch (Zeiler & Fergus deconvnet).",
        discussion: """
        Typical use:
          deconvscope train --model zf-fmnist --epochs 10 --snapshot-epochs 0,1,2,5,10
          open Reports/<run>/index.html
          deconvscope compare Checkpoints/<run> Checkpoints/<other-run>   (two runs side by side)
        A run keeps its snapshots in Checkpoints/<run>/ and its report in Reports/<run>/.
        """,
        version: "0.1.0",
        subcommands: [Train.self, MonitorCommand.self, Inspect.self, Export.self, CompareCommand.self])

    /// Help and version go to stdout with status 0; every error becomes one line
    /// `error: ...` on stderr with a non-zero status (the public contract), instead of the
    /// parser's default multi-line "Error: ... Usage: ..." text.
    static func main() {
        // A copy of this binary started to read one snapshot (see GuardedSnapshotReading) exits here.
        SnapshotReaderChild.serveIfRequested()
        // Snapshots from outside this process are read in such a child, so a libhdf5 crash is an error line.
        GuardedSnapshotReading.enable()
        ProcessMemory.keepFreedBlocksForReuse()
        // OpenBLAS's idle worker threads otherwise spin beside ours for the first ~0.1 s.
        BLASThreads.ensureSingleThreaded()
        // Past a file-size limit (ulimit -f) a write would otherwise kill the process with SIGXFSZ;
        // ignored, the write fails with EFBIG and becomes a one-line error like a full disk.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try PhaseTimings.measure("command") { try command.run() }
            PhaseTimings.printIfEnabled()
        } catch let exit as ExitCode {
            PhaseTimings.printIfEnabled()
            Foundation.exit(exit.rawValue)   // the command already said what went wrong
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            let line = message.lowercased().hasPrefix("error:") ? String(message.dropFirst(6)).trimmingCharacters(in: .whitespaces) : message
            FileHandle.standardError.write(Data("error: \(line) (see 'deconvscope help')\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
}

/// Runs a command body, turning any error into the contract's one-line `error: ...` on stderr.
func reportingErrors(_ body: () throws -> Void) throws {
    // Line-buffered even into a pipe or file, so progress shows up as it happens in logs.
    setvbuf(stdout, nil, _IOLBF, 0)
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("error: \(String(describing: error))\n".utf8))
        throw ExitCode(1)
    }
}
