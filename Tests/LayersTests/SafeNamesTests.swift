import XCTest
import Layers

/// Layer and run names: ASCII letters, digits, '_', '.', '-'; run names also start with a letter
/// or digit, are at most 100 characters, and hold no "..". Written against the rule as stated.
final class SafeNamesTests: XCTestCase {
    func testLayerNames() {
        for good in ["conv1", "fc.3", "a-b_c", "0", "ZZ9"] { XCTAssertTrue(SafeNames.isSafe(good), good) }
        for bad in ["", "conv 1", "conv1\n", "a/b", "é", "fc3!", "<script>", "\u{0}"] { XCTAssertFalse(SafeNames.isSafe(bad), bad.debugDescription) }
    }

    func testRunNames() {
        for good in ["demo", "run-2026.12", "a", "9_x", String(repeating: "r", count: 100)] {
            XCTAssertTrue(SafeNames.isSafeRunName(good), good)
        }
        for bad in ["", "-x", ".hidden", "_x", "a..b", "../escape", "a/b", "demo\n", String(repeating: "r", count: 101), "r\u{301}"] {
            XCTAssertFalse(SafeNames.isSafeRunName(bad), bad.debugDescription)
        }
    }

    /// Every byte against the character class written out.
    func testEveryByte() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-".utf8)
        for byte in UInt8.min...UInt8.max { XCTAssertEqual(SafeNames.isAllowed(byte), allowed.contains(byte), "byte \(byte)") }
    }
}
