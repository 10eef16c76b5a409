import Foundation
import Tensors
import Datasets
import Runs
import Layers
import Snapshots

/// Progress within an epoch, reported after every batch.
public struct BatchProgress: Sendable {
    public var epoch: Int
    public var batch: Int
    public var batches: Int
    public var imagesSeen: Int
    public var images: Int
    /// Mean loss over this epoch's batches so far.
    public var runningLoss: Double
    public var elapsed: Double
}

/// Training stopped because it diverged: the loss or the weights stopped being usable numbers.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public var epoch: Int
    public var step: Int
    public var learningRate: Float
    /// What was seen, e.g. "the loss became nan".
    public var reason: String
    /// The newest snapshot on disk when training stopped, if the caller knows it.
    public var lastSnapshot: String?
    /// Whether conv filters were renormalized (--max-filter-rms, on by default); when they were
    /// not, turning it on is the second remedy.
    public var filtersRenormalized = false
    public var description: String {
        "training diverged in epoch \(epoch) at step \(step): \(reason); try a smaller --learning-rate (now \(learningRate)), e.g. \(learningRate / 10)"
            + (filtersRenormalized ? "" : ", or --max-filter-rms 0.1")
            + (lastSnapshot.map { "; the last good snapshot is \($0)" } ?? "")
    }
}

/// When a run counts as diverged. A softmax cross-entropy starts near ln(classes) (chance level);
/// a trained network is below it, and a run whose batch loss is a hundred times above it is not
/// coming back: with a too-large learning rate the loss grows by orders of magnitude per step
/// (measured: 3.3 -> 4.7e7 -> 3.0e15 over three steps at lr 1000) long before it overflows to inf
/// or NaN, so waiting for a non-finite value would write several garbage snapshots first.
public enum DivergenceLimit {
    public static func maximumLoss(classes: Int) -> Double { 100 * max(1, log(Double(max(2, classes)))) }
}

/// SGD over a data set, one epoch at a time. Owns the run's only random generator, whose
/// state goes into every snapshot, so a resumed run continues bit for bit.
public final class Trainer {
    public let network: Network
    public let train: Dataset
    public let test: Dataset
    public var optimizer: SGD
    public let batchSize: Int
    /// Applied to each batch as it is assembled; nil when the images are already normalized.
    /// Normalizing per batch keeps one copy of the data set in memory instead of two
    /// (Fashion-MNIST's 60,000 training images are 188 MB as float32).
    public let normalization: Normalization?
    public private(set) var epoch = 0
    public private(set) var step = 0
    public private(set) var rng: Xoshiro256
    /// Checked between batches; set from a signal handler to stop after the current batch.
    public var shouldStop: @Sendable () -> Bool = { false }

    /// `train` and `test` are normalized batch by batch with `normalization`, or used as they are
    /// when it is nil.
    public init(network: Network, train: Dataset, test: Dataset, normalization: Normalization? = nil,
                optimizer: SGD, batchSize: Int, seed: UInt64) {
        self.network = network
        self.train = train
        self.test = test
        self.normalization = normalization
        self.optimizer = optimizer
        self.batchSize = batchSize
        self.rng = Xoshiro256(seed: seed)
    }

    /// Fresh He-normal weights from the run's generator (the first draws of the stream); see
    /// `Network.initialize` for `firstConvStd`.
    public func initializeWeights(firstConvStd: Float? = nil) {
        network.initialize(rng: &rng, firstConvStd: firstConvStd)
    }

    /// Continues from a snapshot written by `snapshot()`: weights, momentum, counters, generator.
    public func restore(_ snapshot: Snapshot, path: String) throws {
        try network.load(snapshot, path: path)
        epoch = snapshot.epoch
        step = snapshot.step
        guard let words = snapshot.trainerState?.rngState, let restored = Xoshiro256(state: words) else {
            throw SnapshotMismatch(path: path, message: "has no trainer state (/trainer/rng_state), so the run cannot resume from it exactly")
        }
        rng = restored
    }

    public func snapshot(partial: Bool = false) -> Snapshot {
        network.snapshot(epoch: epoch, step: step, trainerState: TrainerState(rngState: rng.state, partial: partial))
    }

    /// Trains one epoch over a fresh shuffle; returns nil if `shouldStop` ended it early.
    public func trainEpoch(progress: (BatchProgress) -> Void = { _ in }) throws -> EpochMetrics? {
        let start = Date()
        let n = train.count
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        let batches = (n + batchSize - 1) / batchSize
        var lossSum = 0.0, correct = 0, seen = 0
        var batch = Tensor(zeros: [batchSize] + train.inputShape)
        var learning = LayerLearningAccumulator()
        for b in 0..<batches {
            if shouldStop() { return nil }
            let indices = order[(b * batchSize)..<min(n, (b + 1) * batchSize)]
            if batch.shape[0] != indices.count { batch = Tensor(zeros: [indices.count] + train.inputShape) }
            var labels = [Int]()
            labels.reserveCapacity(indices.count)
            batch.data.withUnsafeMutableBufferPointer { dst in train.copySamples(indices, into: dst.baseAddress!) }
            for i in indices { labels.append(train.labels[i]) }
            normalization?.apply(to: &batch)

            let seed = rng.next()
            network.zeroGradients()
            let logits = network.forward(batch, mode: .training(seed: seed))
            let result = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
            guard result.loss.isFinite else {
                throw diverged(step: step + 1, "the loss became \(result.loss)")
            }
            guard result.loss <= maximumLoss else {
                throw diverged(step: step + 1, String(format: "the loss reached %.3g, more than 100 times chance level (%.3g)", result.loss, maximumLoss / 100))
            }
            _ = network.backward(result.gradient, rule: .gradient, accumulateParameterGradients: true, inputGradient: false)
            learning.add(optimizer.step(network))
            step += 1
            lossSum += result.loss * Double(indices.count)
            correct += result.correct
            seen += indices.count
            progress(BatchProgress(epoch: epoch + 1, batch: b + 1, batches: batches, imagesSeen: seen, images: n,
                                   runningLoss: lossSum / Double(seen), elapsed: Date().timeIntervalSince(start)))
        }
        // The last step's update is not seen by any loss of this epoch: check the weights before
        // they can be written to a snapshot.
        if let bad = network.parameterLayers.first(where: { !$0.weight.value.data.allSatisfy(\.isFinite) || !$0.bias.value.data.allSatisfy(\.isFinite) }) {
            throw diverged(step: step, "the weights of \(bad.name) became non-finite")
        }
        let trainSeconds = Date().timeIntervalSince(start)
        let (testLoss, testAccuracy, confusion) = evaluateWithConfusion(test)
        guard testLoss.isFinite, testLoss <= maximumLoss else {
            throw diverged(step: step, String(format: "the test loss after the epoch's last step is %.3g, more than 100 times chance level (%.3g)", testLoss, maximumLoss / 100))
        }
        epoch += 1
        return EpochMetrics(epoch: epoch, step: step, trainLoss: lossSum / Double(seen), trainAccuracy: Double(correct) / Double(seen),
                            testLoss: testLoss, testAccuracy: testAccuracy, seconds: Date().timeIntervalSince(start),
                            imagesPerSecond: Double(seen) / trainSeconds, layers: learning.means, confusion: confusion)
    }

    private var maximumLoss: Double {
        DivergenceLimit.maximumLoss(classes: network.spec.classes)
    }

    private func diverged(step: Int, _ reason: String) -> TrainingDiverged {
        TrainingDiverged(epoch: epoch + 1, step: step, learningRate: optimizer.learningRate, reason: reason,
                         filtersRenormalized: optimizer.maxFilterRMS != nil)
    }

    /// Metrics of the current weights before any training (epoch 0).
    public func initialMetrics() -> EpochMetrics {
        let start = Date()
        let (loss, accuracy, confusion) = evaluateWithConfusion(test)
        return EpochMetrics(epoch: epoch, step: step, trainLoss: nil, trainAccuracy: nil, testLoss: loss,
                            testAccuracy: accuracy, seconds: Date().timeIntervalSince(start), imagesPerSecond: nil, confusion: confusion)
    }

    /// Mean loss and accuracy in inference mode (dropout off).
    public func evaluate(_ data: Dataset, batchSize: Int = 256) -> (loss: Double, accuracy: Double) {
        let result = evaluateWithConfusion(data, batchSize: batchSize)
        return (result.loss, result.accuracy)
    }

    /// Mean loss, accuracy and the confusion counts (classes x classes, row = true class, column =
    /// predicted) in inference mode. The accuracy is the confusion's diagonal over its total.
    /// Batches of 256 keep the activations near 60 MB for 28x28 inputs (conv1's output alone is
    /// 25 MB at zf-fmnist's 32 maps).
    public func evaluateWithConfusion(_ data: Dataset, batchSize: Int = 256) -> (loss: Double, accuracy: Double, confusion: [[Int]]) {
        let classes = network.spec.classes
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var lossSum = 0.0, correct = 0
        for start in stride(from: 0, to: data.count, by: batchSize) {
            let end = min(data.count, start + batchSize)
            var images = data.samples(start..<end)
            normalization?.apply(to: &images)
            let logits = network.forward(images, mode: .evaluation)
            let labels = Array(data.labels[start..<end])
            let result = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
            lossSum += result.loss * Double(end - start)
            correct += result.correct
            for (label, predicted) in zip(labels, result.predicted) where label >= 0 && label < classes {
                confusion[label][predicted] += 1
            }
        }
        return (lossSum / Double(max(1, data.count)), Double(correct) / Double(max(1, data.count)), confusion)
    }
}
