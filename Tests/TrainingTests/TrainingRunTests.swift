import XCTest
import Tensors
import Layers
import Snapshots
@testable import Training

final class TrainingRunTests: XCTestCase {
    func testOneEpochOn2000ImagesLowersTheLoss() throws {
        let data = try Fixtures.fashionMNIST()
        let spec = ModelPreset.zfFMNIST.spec
        let norm = spec.normalization!
        let trainer = Trainer(network: try Network(spec: spec), train: data.train.prefix(2000).normalized(by: norm),
                              test: data.test.prefix(500).normalized(by: norm),
                              optimizer: SGD(learningRate: 0.01, momentum: 0.9), batchSize: 64, seed: 0)
        trainer.initializeWeights()
        let before = trainer.evaluate(trainer.test)
        var firstLosses: [Double] = []
        let m = try XCTUnwrap(try trainer.trainEpoch { p in if p.batch <= 3 { firstLosses.append(p.runningLoss) } })
        // He-normal init with max pooling gives logits of a few units: the first loss sits above
        // chance level ln(10) = 2.30 (measured 4.95 with seed 0), and it must be finite.
        XCTAssertTrue(firstLosses[0].isFinite)
        XCTAssertGreaterThan(firstLosses[0], log(10.0) * 0.8)
        XCTAssertLessThan(firstLosses[0], 10)
        XCTAssertLessThan(m.testLoss, before.loss * 0.6, "one epoch on 2,000 images should cut the test loss well below chance")
        XCTAssertGreaterThan(m.testAccuracy, 0.6)
        XCTAssertEqual(m.step, 32)   // ceil(2000 / 64)
    }

    func testTinyBatchOverfits() throws {
        let data = try Fixtures.fashionMNIST()
        let spec = Fixtures.smallSpec
        let tiny = data.train.prefix(16).normalized(by: spec.normalization!)
        let trainer = Trainer(network: try Network(spec: spec), train: tiny, test: tiny,
                              optimizer: SGD(learningRate: 0.05, momentum: 0.9), batchSize: 16, seed: 1)
        trainer.initializeWeights()
        var last: EpochMetrics?
        for _ in 0..<60 { last = try trainer.trainEpoch() }
        XCTAssertEqual(try XCTUnwrap(last).testAccuracy, 1.0, "16 images must be memorized")
    }

    func testResumeGivesIdenticalWeightsToAnUninterruptedRun() throws {
        let data = try Fixtures.fashionMNIST()
        let small = DatasetPair(train: data.train.prefix(320), test: data.test.prefix(64))
        let root = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }

        // Uninterrupted: 3 epochs.
        let full = RunDirectory(path: root + "/full")
        let a = try TrainingSession(config: Fixtures.config(run: "full", spec: Fixtures.smallSpec, epochs: 3, snapshots: [0, 1, 2, 3]),
                                    directory: full, data: small, resume: false)
        XCTAssertEqual(try a.run { _ in }, .finished)

        // Interrupted after epoch 1, then resumed to 3.
        let split = RunDirectory(path: root + "/split")
        let b1 = try TrainingSession(config: Fixtures.config(run: "split", spec: Fixtures.smallSpec, epochs: 1, snapshots: [0, 1]),
                                     directory: split, data: small, resume: false)
        try b1.run { _ in }
        let b2 = try TrainingSession(config: Fixtures.config(run: "split", spec: Fixtures.smallSpec, epochs: 3, snapshots: [0, 1, 2, 3]),
                                     directory: split, data: small, resume: true)
        XCTAssertEqual(b2.trainer.epoch, 1)
        try b2.run { _ in }

        let x = try Snapshot.read(from: full.snapshotPath(epoch: 3)), y = try Snapshot.read(from: split.snapshotPath(epoch: 3))
        XCTAssertEqual(x.step, y.step)
        for (name, p) in x.weights {
            XCTAssertEqual(p.weight.data.map(\.bitPattern), y.weights[name]!.weight.data.map(\.bitPattern), "\(name) weights differ")
            XCTAssertEqual(p.bias.data.map(\.bitPattern), y.weights[name]!.bias.data.map(\.bitPattern), "\(name) biases differ")
            XCTAssertEqual(x.optimizer[name], y.optimizer[name], "\(name) momentum differs")
        }
        XCTAssertEqual(full.readMetrics().map(\.epoch), [0, 1, 2, 3])
        XCTAssertEqual(split.readMetrics().map(\.epoch), [0, 1, 2, 3])
        XCTAssertEqual(full.readMetrics().last?.testLoss, split.readMetrics().last?.testLoss)
        XCTAssertEqual(try split.readConfig()?.status, .finished)
    }

    func testNewRunRefusesADirectoryWithSnapshotsAndResumeNeedsOne() throws {
        let data = try Fixtures.fashionMNIST()
        let small = DatasetPair(train: data.train.prefix(64), test: data.test.prefix(32))
        let root = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = RunDirectory(path: root + "/r")
        let cfg = Fixtures.config(run: "r", spec: Fixtures.smallSpec, epochs: 1, snapshots: [1])
        XCTAssertThrowsError(try TrainingSession(config: cfg, directory: dir, data: small, resume: true)) {
            XCTAssertTrue("\($0)".contains("nothing to resume"), "\($0)")
        }
        try TrainingSession(config: cfg, directory: dir, data: small, resume: false).run { _ in }
        XCTAssertThrowsError(try TrainingSession(config: cfg, directory: dir, data: small, resume: false)) {
            XCTAssertTrue("\($0)".contains("--resume"), "\($0)")
        }
    }

    func testDivergenceStopsWithEpochStepAndRemedyAndKeepsSnapshots() throws {
        let data = try Fixtures.fashionMNIST()
        let small = DatasetPair(train: data.train.prefix(256), test: data.test.prefix(32))
        let root = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = RunDirectory(path: root + "/boom")
        var cfg = Fixtures.config(run: "boom", spec: Fixtures.smallSpec, epochs: 3, snapshots: [0, 1, 2, 3])
        cfg.learningRate = 1e6
        cfg.weightDecay = 0
        let session = try TrainingSession(config: cfg, directory: dir, data: small, resume: false)
        XCTAssertThrowsError(try session.run { _ in }) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("diverged") && text.contains("epoch 1") && text.contains("--learning-rate"), text)
        }
        XCTAssertNoThrow(try Snapshot.read(from: dir.snapshotPath(epoch: 0)), "the initialization snapshot stays readable")
        XCTAssertEqual(try dir.readConfig()?.status, .failed)
    }

    func testRunNamesAreRestrictedToASafeCharacterSet() {
        for good in ["demo", "zf-fmnist-20261124-101010", "a.b_c"] { XCTAssertNoThrow(try RunDirectory.validate(runName: good)) }
        for bad in ["", "../x", "a/b", "..", "<script>", "-x", String(repeating: "a", count: 101)] {
            XCTAssertThrowsError(try RunDirectory.validate(runName: bad), bad)
        }
    }
}
