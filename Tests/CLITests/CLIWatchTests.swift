import XCTest

/// `monitor --watch` started before a training run in another process ends with the same findings
/// as a post-hoc `monitor --force` over the finished run.
final class CLIWatchTests: XCTestCase {
    func testWatchMatchesPostHocMonitor() throws {
        guard FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist") else {
            throw XCTSkip("dataset-fashion-mnist is not installed (make test installs it)")
        }
        let dir = CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["--probes", "24", "--top", "3", "--occlusion-images", "2"]

        // The watcher starts first: the run directory does not exist yet.
        let watcher = Process()
        watcher.executableURL = CLI.binary
        watcher.arguments = ["monitor", "Checkpoints/w", "--watch", "--poll-interval", "0.2", "--reports", "Watched"] + common
        watcher.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe()
        watcher.standardOutput = out
        watcher.standardError = out
        try watcher.run()

        let train = try CLI.run(["train", "--epochs", "2", "--train-limit", "256", "--batch-size", "64", "--snapshot-epochs", "0,1,2",
                                 "--run", "w", "--no-monitor"], in: dir)
        XCTAssertEqual(train.status, 0, train.stderr)

        let deadline = Date().addingTimeInterval(300)
        while watcher.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        if watcher.isRunning { watcher.terminate(); XCTFail("watcher did not stop after the run finished") }
        let log = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(watcher.terminationStatus, 0, log)
        XCTAssertTrue(log.contains("stopped watching"), log)

        let post = try CLI.run(["monitor", "Checkpoints/w", "--force", "--reports", "PostHoc"] + common, in: dir)
        XCTAssertEqual(post.status, 0, post.stderr)

        func epochs(_ path: String) throws -> [[String: Any]] {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + path))) as! [String: Any]
            XCTAssertEqual(json["status"] as? String, "finished", path)
            return json["epochs"] as! [[String: Any]]
        }
        let watched = try epochs("Watched/w/findings.json"), posthoc = try epochs("PostHoc/w/findings.json")
        XCTAssertEqual(watched.map { $0["epoch"] as? Int }, [0, 1, 2])
        XCTAssertEqual(watched.count, posthoc.count)
        for (a, b) in zip(watched, posthoc) {
            XCTAssertEqual(a as NSDictionary, b as NSDictionary, "epoch \(a["epoch"] ?? "?") differs")
        }
    }
}
