import Foundation
@testable import Snapshots
import XCTest

/// Temporary files of killed writers: recognised by name and process id, removed only when their
/// writer is gone.
final class AtomicFileTests: XCTestCase {
    func testTemporaryNamesCarryTheWriterProcess() {
        XCTAssertEqual(AtomicFile.temporaryPath(for: "/r/epoch-0003.h5"), "/r/.epoch-0003.h5.tmp-\(getpid())")
        XCTAssertEqual(AtomicFile.writerProcess(ofTemporaryName: ".epoch-0003.h5.tmp-4242"), 4242)
        XCTAssertEqual(AtomicFile.writerProcess(ofTemporaryName: ".conv1-filters.png.tmp-77-3141592"), 77, "PNG writes add a random tag")
        for other in ["epoch-0003.h5", "epoch-0003.h5.tmp-12", ".epoch-0003.h5.tmp-", ".x.tmp-12a", ".x.tmp-1-2-3", ".hidden"] {
            XCTAssertNil(AtomicFile.writerProcess(ofTemporaryName: other), other)
        }
    }

    func testRemovesTemporariesOfDeadWritersAndKeepsEverythingElse() throws {
        let dir = try makeTemporaryDirectory(self)
        // A process that has exited and been reaped: its id names no live process (until reused,
        // which within this test is practically impossible).
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier, live = getppid()
        let stale = [".epoch-0002.h5.tmp-\(dead)", ".metrics.jsonl.tmp-\(dead)", ".a.png.tmp-\(dead)-99", ".run.json.tmp-\(getpid())"]
        let kept = [".epoch-0003.h5.tmp-\(live)", "epoch-0001.h5", "notes.tmp-\(dead)", ".hidden"]
        for name in stale + kept {
            XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("x".utf8)), name)
        }
        XCTAssertEqual(AtomicFile.removeStaleTemporaries(in: dir), stale.sorted())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), kept.sorted())
        XCTAssertEqual(AtomicFile.removeStaleTemporaries(in: dir + "/missing"), [])
    }
}
