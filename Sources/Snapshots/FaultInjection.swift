import Foundation

/// Test hooks that make a crash land at an exact point, so the crash tests are deterministic
/// instead of racing a write that takes a millisecond. Off unless the environment variable is set;
/// not part of the command-line contract.
///
/// `DECONVSCOPE_TEST_PAUSE_BEFORE_SNAPSHOT_RENAME=2,3`: when writing the snapshot of epoch 2 or 3,
/// after the temporary file is complete and synced but before it is renamed into place, print
/// `test hook: paused before renaming <temporary>` to stderr and sleep 120 s. A test sends
/// SIGKILL when it sees the line: the kill then hits the one moment where the new snapshot exists
/// only as a temporary file.
enum FaultInjection {
    static let pauseVariable = "DECONVSCOPE_TEST_PAUSE_BEFORE_SNAPSHOT_RENAME"

    static func pauseBeforeSnapshotRename(epoch: Int, temporary: String) {
        guard let list = ProcessInfo.processInfo.environment[pauseVariable],
              list.split(separator: ",").contains(where: { Int($0.trimmingCharacters(in: .whitespaces)) == epoch }) else { return }
        FileHandle.standardError.write(Data("test hook: paused before renaming \(temporary)\n".utf8))
        sleep(120)
    }
}
