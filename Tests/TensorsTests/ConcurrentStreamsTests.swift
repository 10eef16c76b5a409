import XCTest
import Tensors

/// `ComputeBudget.concurrently`: both results come back, the side stream's share of the cores is
/// taken from the main one only while it runs, and a main stream that throws still waits for it.
final class ConcurrentStreamsTests: XCTestCase {
    func testBothStreamsRunAndTheBudgetIsSharedOnlyWhileTheSideRuns() {
        let before = ComputeBudget.threads
        let sideStarted = DispatchSemaphore(value: 0), sideMayEnd = DispatchSemaphore(value: 0)
        let (main, side) = ComputeBudget.concurrently({ () -> Int in
            sideStarted.wait()
            // While the side stream runs, the main one has at most half of the cores.
            let during = ComputeBudget.threads
            sideMayEnd.signal()
            return during
        }, beside: { () -> [Int] in
            sideStarted.signal()
            sideMayEnd.wait()
            return (0..<1000).map { $0 * $0 }
        })
        XCTAssertEqual(main, max(1, ComputeBudget.cores / 2))
        XCTAssertEqual(side, (0..<1000).map { $0 * $0 })
        XCTAssertEqual(ComputeBudget.threads, before, "the side stream's share is given back when it ends")
    }

    func testAMainStreamThatThrowsWaitsForTheSideStream() {
        struct Stop: Error {}
        let finished = SideFlag()
        XCTAssertThrowsError(try ComputeBudget.concurrently({ () throws -> Int in throw Stop() }, beside: { () -> Int in
            usleep(50_000)
            finished.set()
            return 1
        }))
        XCTAssertTrue(finished.isSet, "concurrently returned before its side stream ended")
    }
}

private final class SideFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
