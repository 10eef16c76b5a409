import XCTest
@testable import Training

/// The divergence error suggests filter renormalization only to a run that had it off (it is on
/// by default, so suggesting it to every run would send users to an option they already use).
final class DivergenceMessageTests: XCTestCase {
    func testRenormalizationIsSuggestedOnlyWhenItWasOff() {
        var error = TrainingDiverged(epoch: 2, step: 30, learningRate: 0.5, reason: "the loss became nan")
        XCTAssertTrue(error.description.contains("e.g. 0.05, or --max-filter-rms 0.1"), error.description)
        error.filtersRenormalized = true
        XCTAssertTrue(error.description.contains("e.g. 0.05"), error.description)
        XCTAssertFalse(error.description.contains("--max-filter-rms"), error.description)
    }
}
