import Datasets
import Layers
import Runs
import Training

/// A three-snapshot run (epochs 0-2) of a tiny two-conv network on 128 Fashion-MNIST images,
/// trained into `root`/Checkpoints/tiny; its run.json asks for 24 probes and top 4. Returns the
/// run folder and the 40 test images the monitor tests use as probes.
public func tinyTrainedRun(in root: String) throws -> (run: RunDirectory, test: Dataset) {
    let data = try DatasetLoader.load(.fashionMNIST, directory: nil)
    let small = DatasetPair(train: data.train.prefix(128), test: data.test.prefix(40))
    let spec = ModelSpec(input: [1, 28, 28], classes: 10, normalization: nil, layers: [
        .conv("conv1", 4, kernel: 5, stride: 1, padding: 2), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
        .conv("conv2", 6, kernel: 5, stride: 1, padding: 2), .relu, .maxpool(kernel: 3, stride: 2, padding: 1),
        .flatten, .linear("fc", 10),
    ])
    let config = RunConfiguration(run: "tiny", model: "test", architecture: spec, data: "fashion-mnist", dataDir: nil, epochs: 2,
                                  batchSize: 32, learningRate: 0.01, momentum: 0.9, weightDecay: 0, maxFilterRMS: nil, seed: 1,
                                  trainLimit: 128, snapshotEpochs: [0, 1, 2], probes: 24, top: 4, status: .running, message: nil,
                                  created: "t", updated: "t")
    let run = RunDirectory(path: root + "/Checkpoints/tiny")
    try TrainingSession(config: config, directory: run, data: small, resume: false).run { _ in }
    return (run, small.test)
}
