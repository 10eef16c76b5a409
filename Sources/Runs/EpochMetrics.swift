import Foundation

/// One line of `metrics.jsonl`.
public struct EpochMetrics: Codable, Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    /// nil for epoch 0 (no training yet).
    public var trainLoss: Double?
    public var trainAccuracy: Double?
    public var testLoss: Double
    public var testAccuracy: Double
    public var seconds: Double
    public var imagesPerSecond: Double?

    enum CodingKeys: String, CodingKey {
        case epoch, step, seconds
        case trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case testLoss = "test_loss", testAccuracy = "test_accuracy"
        case imagesPerSecond = "images_per_second"
    }

    public init(epoch: Int, step: Int, trainLoss: Double?, trainAccuracy: Double?, testLoss: Double, testAccuracy: Double,
                seconds: Double, imagesPerSecond: Double?) {
        self.epoch = epoch; self.step = step; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss; self.testAccuracy = testAccuracy; self.seconds = seconds; self.imagesPerSecond = imagesPerSecond
    }
}
