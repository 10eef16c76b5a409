import Foundation
import Training
import Datasets
import Runs

/// Per-epoch progress: a redrawn bar on a terminal, a plain line every ~10% otherwise.
struct ProgressPrinter {
    let isTerminal = isatty(STDOUT_FILENO) != 0
    private var lastPlainDecile = -1

    mutating func show(_ p: BatchProgress, epochs: Int) {
        let fraction = Double(p.imagesSeen) / Double(max(1, p.images))
        let rate = Double(p.imagesSeen) / max(p.elapsed, 1e-9)
        let eta = Double(p.images - p.imagesSeen) / max(rate, 1e-9)
        let stats = String(format: "%3.0f%%  %6.0f img/s  loss %.4f  ETA %@", fraction * 100, rate, p.runningLoss, duration(eta))
        if isTerminal {
            let width = 24, filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            print("\repoch \(p.epoch)/\(epochs) [\(bar)] \(stats)", terminator: "")
            if p.batch == p.batches { print("\r\u{1B}[2K", terminator: "") }
            fflush(stdout)
        } else {
            let decile = Int(fraction * 10)
            if decile != lastPlainDecile && (decile > lastPlainDecile) {
                lastPlainDecile = p.batch == p.batches ? -1 : decile
                if p.batch != p.batches { print("epoch \(p.epoch)/\(epochs) \(stats)") }
            }
        }
    }
}

func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
}
