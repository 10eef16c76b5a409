import XCTest
import Datasets
import Runs
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

    /// Snapshots only at 0 and the end; stopped two batches into epoch 3. The resume point written
    /// after epoch 2 means only the epoch in progress is lost, and the result is unchanged.
    func testStoppingBetweenSparseSnapshotsLosesOnlyTheEpochInProgress() throws {
        let data = try Fixtures.fashionMNIST()
        let small = DatasetPair(train: data.train.prefix(320), test: data.test.prefix(64))
        let root = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let full = RunDirectory(path: root + "/full")
        try TrainingSession(config: Fixtures.config(run: "full", spec: Fixtures.smallSpec, epochs: 3, snapshots: [0]),
                            directory: full, data: small, resume: false).run { _ in }

        final class BatchCounter: @unchecked Sendable { var calls = 0 }
        let counter = BatchCounter()
        let split = RunDirectory(path: root + "/split")
        let first = try TrainingSession(config: Fixtures.config(run: "split", spec: Fixtures.smallSpec, epochs: 3, snapshots: [0]),
                                        directory: split, data: small, resume: false)
        first.trainer.shouldStop = { counter.calls += 1; return counter.calls > 22 }   // 10 batches per epoch
        XCTAssertEqual(try first.run { _ in }, .interrupted)
        XCTAssertEqual(try split.snapshots().map(\.epoch), [0])
        XCTAssertEqual(try Snapshot.read(from: split.resumePointPath).epoch, 2)

        let second = try TrainingSession(config: Fixtures.config(run: "split", spec: Fixtures.smallSpec, epochs: 3, snapshots: [0]),
                                         directory: split, data: small, resume: true)
        XCTAssertEqual(second.trainer.epoch, 2)
        XCTAssertEqual(try second.run { _ in }, .finished)
        XCTAssertEqual(try Snapshot.read(from: full.snapshotPath(epoch: 3)), try Snapshot.read(from: split.snapshotPath(epoch: 3)))
        XCTAssertFalse(FileManager.default.fileExists(atPath: split.resumePointPath), "removed once a newer snapshot exists")
        XCTAssertEqual(split.readMetrics().map(\.epoch), [0, 1, 2, 3])
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
            XCTAssertTrue(text.contains("diverged in epoch 1 at step "), text)
            XCTAssertTrue(text.contains("try a smaller --learning-rate (now 1000000.0)"), text)
            XCTAssertTrue(text.contains("the last good snapshot is epoch-0000.h5"), text)
            XCTAssertFalse(text.contains("\n"), "one line")
        }
        XCTAssertNoThrow(try Snapshot.read(from: dir.snapshotPath(epoch: 0)), "the initialization snapshot stays readable")
        XCTAssertEqual(try dir.snapshots().map(\.epoch), [0])
        XCTAssertEqual(try dir.readConfig()?.status, .failed)
    }

    /// A run that trained well for an epoch and then diverges: the snapshot of the good epoch is
    /// left exactly as it was, nothing is written for the diverged epoch, and the error names the
    /// epoch, the step and the snapshot to go back to.
    func testDivergenceAfterAGoodEpochKeepsThatSnapshotUntouched() throws {
        let data = try Fixtures.fashionMNIST()
        let small = DatasetPair(train: data.train.prefix(256), test: data.test.prefix(32))
        let root = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = RunDirectory(path: root + "/late")
        let good = Fixtures.config(run: "late", spec: Fixtures.smallSpec, epochs: 1, snapshots: [0, 1])
        try TrainingSession(config: good, directory: dir, data: small, resume: false).run { _ in }
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.snapshotPath(epoch: 1)))
        let stepsPerEpoch = try Snapshot.read(from: dir.snapshotPath(epoch: 1)).step

        // The same run continued with a learning rate that blows up (the CLI refuses to change it
        // on --resume; the session API lets the test stage a divergence that starts in epoch 2).
        var bad = good
        bad.epochs = 3
        bad.snapshotEpochs = [0, 1, 2, 3]
        bad.learningRate = 1e4
        let session = try TrainingSession(config: bad, directory: dir, data: small, resume: true)
        XCTAssertThrowsError(try session.run { _ in }) { error in
            guard let diverged = error as? TrainingDiverged else { return XCTFail("\(error)") }
            XCTAssertEqual(diverged.epoch, 2)
            XCTAssertGreaterThan(diverged.step, stepsPerEpoch)
            XCTAssertLessThanOrEqual(diverged.step, 2 * stepsPerEpoch)
            XCTAssertTrue("\(error)".contains("in epoch 2 at step \(diverged.step): "), "\(error)")
            XCTAssertTrue("\(error)".contains("the last good snapshot is epoch-0001.h5"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir.snapshotPath(epoch: 1))), before, "the good snapshot is untouched")
        XCTAssertNoThrow(try Snapshot.read(from: dir.snapshotPath(epoch: 1)))
        XCTAssertEqual(try dir.snapshots().map(\.epoch), [0, 1])
        XCTAssertEqual(dir.readMetrics().map(\.epoch), [0, 1])
        let config = try XCTUnwrap(try dir.readConfig())
        XCTAssertEqual(config.status, .failed)
        XCTAssertTrue(config.message?.contains("diverged in epoch 2") == true, config.message ?? "no message")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }, [], "no temporary files left")
    }

    /// A loss that grows by orders of magnitude but stays finite is divergence too; the check also
    /// runs on the weights and test loss after an epoch's last step, which no training loss has seen,
    /// so with one step per epoch nothing garbage is ever snapshotted.
    func testAFiniteButExplodingLossStopsBeforeAnyGarbageSnapshot() throws {
        let data = try Fixtures.fashionMNIST()
        let small = DatasetPair(train: data.train.prefix(32), test: data.test.prefix(64))
        let root = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = RunDirectory(path: root + "/big")
        var cfg = Fixtures.config(run: "big", spec: Fixtures.smallSpec, epochs: 3, snapshots: [0, 1, 2, 3])
        cfg.batchSize = 32
        cfg.learningRate = 1000
        let session = try TrainingSession(config: cfg, directory: dir, data: small, resume: false)
        XCTAssertThrowsError(try session.run { _ in }) { error in
            XCTAssertTrue(error is TrainingDiverged, "\(error)")
        }
        for (epoch, path) in try dir.snapshots() {
            let snapshot = try Snapshot.read(from: path)
            for (name, p) in snapshot.weights {
                XCTAssertTrue(p.weight.data.allSatisfy { $0.isFinite && abs($0) < 100 }, "epoch \(epoch) \(name): garbage weights were snapshotted")
            }
        }
        for m in dir.readMetrics() {
            XCTAssertLessThan(m.testLoss, DivergenceLimit.maximumLoss(classes: 10), "epoch \(m.epoch) recorded")
        }
    }

    func testRunNamesAreRestrictedToASafeCharacterSet() {
        for good in ["demo", "zf-fmnist-20261124-101010", "a.b_c"] { XCTAssertNoThrow(try RunDirectory.validate(runName: good)) }
        for bad in ["", "../x", "a/b", "..", "<script>", "-x", String(repeating: "a", count: 101)] {
            XCTAssertThrowsError(try RunDirectory.validate(runName: bad), bad)
        }
    }
}
