import XCTest
import Foundation
import Runs

/// `Timestamp` writes what `ISO8601DateFormatter` with `.withInternetDateTime` writes, without it.
final class TimestampTests: XCTestCase {
    func testSameTextAsISO8601DateFormatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        // The epoch, leap days, year boundaries, single-digit fields, today, and far ahead.
        for seconds: time_t in [0, 59, 951_782_399, 951_868_800, 1_704_067_199, 1_704_067_200, 1_796_205_831, 4_102_444_800] {
            XCTAssertEqual(Timestamp.string(secondsSince1970: seconds),
                           formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))), "\(seconds)")
        }
        let now = Timestamp.now()
        XCTAssertEqual(now.count, 20)
        XCTAssertNotNil(formatter.date(from: now))
    }
}
