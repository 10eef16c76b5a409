/// One class among a feature map's top-k probe images.
public struct ClassShare: Codable, Sendable, Equatable {
    /// Class index (the label), and its name from the data set (`class N` when it has none).
    public var classIndex: Int
    public var name: String
    /// How many of the map's top-k probes are of this class.
    public var count: Int

    public init(classIndex: Int, name: String, count: Int) {
        self.classIndex = classIndex; self.name = name; self.count = count
    }

    enum CodingKeys: String, CodingKey {
        case classIndex = "class", name, count
    }
}

/// Which classes a feature map responds to: the labels of its top-k probe images, counted.
/// "Responds mostly to sandals" is the first entry holding most of the k.
public enum ClassMakeup {
    /// Classes by count, most first (ties: lower class index first); only classes present.
    /// `top`: the map's top probe indices, strongest first; `labels`: every probe's label.
    public static func of(top: [Int], labels: [Int], classNames: [String]) -> [ClassShare] {
        var counts: [Int: Int] = [:]
        for probe in top where probe >= 0 && probe < labels.count { counts[labels[probe], default: 0] += 1 }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { label, count in
            ClassShare(classIndex: label, name: label >= 0 && label < classNames.count ? classNames[label] : "class \(label)", count: count)
        }
    }

    /// Adds each filter's class make-up to a layer's findings, from the layer's top-k lists.
    public static func annotate(_ findings: inout LayerFindings, analysis: LayerAnalysis, labels: [Int], classNames: [String]) {
        for i in findings.filters.indices {
            let channel = findings.filters[i].index
            guard channel >= 0, channel < analysis.top.count else { continue }
            findings.filters[i].topClasses = of(top: analysis.top[channel].map(\.image), labels: labels, classNames: classNames)
        }
    }
}
