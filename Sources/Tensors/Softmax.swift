import Foundation

extension Tensor {
    /// Row-wise softmax of logits (N, classes): class probabilities (N, classes), computed with
    /// each row's maximum subtracted so large logits do not overflow.
    public func softmaxRows() -> Tensor {
        let n = shape[0], k = shape[1]
        var out = self
        for i in 0..<n {
            let row = i * k
            var maxValue = -Float.infinity
            for j in 0..<k { maxValue = max(maxValue, data[row + j]) }
            var sum = 0.0
            for j in 0..<k { sum += exp(Double(data[row + j] - maxValue)) }
            for j in 0..<k { out.data[row + j] = Float(exp(Double(data[row + j] - maxValue)) / sum) }
        }
        return out
    }
}
