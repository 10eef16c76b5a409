import Foundation
import ImageIO
import Tensors

/// Reader for an ImageFolder-style tree: `DIR/train/<class>/*.png` and `DIR/test/<class>/*.png`.
///
/// Class names are the sorted folder names under `train/` (hidden entries skipped); `test/` must have
/// the same class folders. Files are read in sorted order, so the result is deterministic. Images are
/// decoded with `PNGCodec.read`; if all are gray the set has 1 channel, else every image becomes RGB
/// (gray replicated). All images of both splits must have one size.
public enum ImageFolderReader {
    /// One split's decoded files before they become a tensor.
    struct Split {
        var labels: [Int] = []
        var images: [Image8] = []
        var paths: [String] = []
    }

    public static func load(directory: String) throws -> DatasetPair {
        guard isDirectory(directory) else { throw DatasetError.missingDirectory(path: directory) }
        let root = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let trainDir = root + "/train", testDir = root + "/test"
        for dir in [trainDir, testDir] where !isDirectory(dir) {
            throw DatasetError.invalidFile(path: dir, reason: "missing; an image folder data set needs train/<class>/*.png and test/<class>/*.png")
        }
        let classNames = try classFolders(in: trainDir)
        guard !classNames.isEmpty else {
            throw DatasetError.invalidFile(path: trainDir, reason: "has no class folders (expected train/<class>/*.png)")
        }
        let testClasses = try classFolders(in: testDir)
        guard testClasses == classNames else {
            let missing = classNames.filter { !testClasses.contains($0) }
            let extra = testClasses.filter { !classNames.contains($0) }
            var parts = [String]()
            if !missing.isEmpty { parts.append("lacks \(missing.joined(separator: ", "))") }
            if !extra.isEmpty { parts.append("has extra \(extra.joined(separator: ", "))") }
            throw DatasetError.inconsistent("\(testDir): class folders differ from train/ (\(parts.joined(separator: "; ")))")
        }
        let train = try readSplit(trainDir, classNames: classNames)
        let test = try readSplit(testDir, classNames: classNames)

        // One size for every image, checked before any float memory is reserved.
        let first = train.images[0]
        for split in [train, test] {
            for (image, path) in zip(split.images, split.paths) where image.width != first.width || image.height != first.height {
                throw DatasetError.inconsistent("\(path): image is \(image.width)x\(image.height) but \(train.paths[0]) is \(first.width)x\(first.height); all images must have one size")
            }
        }
        let channels = (train.images + test.images).contains { $0.channels == 3 } ? 3 : 1
        return DatasetPair(train: dataset(train, name: "folder/train", channels: channels, classNames: classNames),
                           test: dataset(test, name: "folder/test", channels: channels, classNames: classNames))
    }

    /// Sorted names of the non-hidden subdirectories of `dir`.
    static func classFolders(in dir: String) throws -> [String] {
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw DatasetError.invalidFile(path: dir, reason: "cannot list the folder")
        }
        return entries.filter { !$0.hasPrefix(".") && isDirectory(dir + "/" + $0) }.sorted()
    }

    /// Decodes every PNG of every class folder, in sorted order.
    static func readSplit(_ dir: String, classNames: [String]) throws -> Split {
        var split = Split()
        for (label, name) in classNames.enumerated() {
            let classDir = dir + "/" + name
            let entries: [String]
            do { entries = try FileManager.default.contentsOfDirectory(atPath: classDir) } catch {
                throw DatasetError.invalidFile(path: classDir, reason: "cannot list the folder")
            }
            let files = entries.filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".png") && isRegularFile(classDir + "/" + $0) }.sorted()
            guard !files.isEmpty else {
                throw DatasetError.invalidFile(path: classDir, reason: "class folder has no .png images")
            }
            for file in files {
                let path = classDir + "/" + file
                let image: Image8
                do { image = try PNGCodec.read(from: path) } catch let error as ImageIOError {
                    throw DatasetError.invalidFile(path: path, reason: error.reason)
                }
                split.images.append(image)
                split.labels.append(label)
                split.paths.append(path)
            }
        }
        return split
    }

    /// (N, C, H, W) 8-bit pixels; gray images are replicated into every channel.
    static func dataset(_ split: Split, name: String, channels: Int, classNames: [String]) -> Dataset {
        let first = split.images[0]
        let h = first.height, w = first.width, plane = h * w
        let per = channels * plane
        var data = [UInt8](repeating: 0, count: split.images.count * per)
        data.withUnsafeMutableBufferPointer { out in
            for (n, image) in split.images.enumerated() {
                image.pixels.withUnsafeBufferPointer { px in
                    for c in 0..<channels {
                        let base = n * per + c * plane
                        let sourceChannel = image.channels == 1 ? 0 : c
                        for i in 0..<plane {
                            out[base + i] = px[i * image.channels + sourceChannel]
                        }
                    }
                }
            }
        }
        return Dataset(name: name, pixels: data, shape: [split.images.count, channels, h, w],
                       labels: split.labels, classNames: classNames)
    }
}
