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
    /// Per parameter layer, how it learned this epoch (means over its steps); nil for epoch 0 and
    /// in lines written before this field existed.
    public var layers: [String: LayerLearning]?
    /// Test-split confusion counts after the epoch, (classes, classes): row = true class, column =
    /// predicted class (the largest logit, first on ties). Its diagonal sum over its total is
    /// `testAccuracy`. nil in lines written before this field existed.
    public var confusion: [[Int]]?

    public init(epoch: Int, step: Int, trainLoss: Double?, trainAccuracy: Double?, testLoss: Double, testAccuracy: Double,
                seconds: Double, imagesPerSecond: Double?, layers: [String: LayerLearning]? = nil, confusion: [[Int]]? = nil) {
        self.epoch = epoch; self.step = step; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss; self.testAccuracy = testAccuracy; self.seconds = seconds; self.imagesPerSecond = imagesPerSecond
        self.layers = layers; self.confusion = confusion
    }

    enum CodingKeys: String, CodingKey {
        case epoch, step, seconds, layers, confusion
        case trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case testLoss = "test_loss", testAccuracy = "test_accuracy"
        case imagesPerSecond = "images_per_second"
    }
}
