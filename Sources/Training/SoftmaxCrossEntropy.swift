import Foundation
import Tensors

/// Mean softmax cross-entropy over a batch of logits (N, classes).
public enum SoftmaxCrossEntropy {
    public struct Result {
        /// Mean loss over the batch.
        public var loss: Double
        /// d(loss)/d(logits), (N, classes): `(softmax - onehot) / N`.
        public var gradient: Tensor
        /// How many rows have their largest logit at the label.
        public var correct: Int
        /// Each row's largest logit (the first on ties): the predicted class.
        public var predicted: [Int]
    }

    /// Computed with the max subtracted (log-sum-exp trick) so large logits do not overflow.
    public static func evaluate(logits: Tensor, labels: [Int]) -> Result {
        let n = logits.shape[0], k = logits.shape[1]
        precondition(labels.count == n, "\(labels.count) labels for \(n) rows")
        var grad = Tensor(zeros: logits.shape)
        var total = 0.0
        var correct = 0
        var predicted = [Int](repeating: 0, count: n)
        let scale = 1 / Float(n)
        for i in 0..<n {
            let row = i * k
            var maxValue = -Float.infinity, argmax = 0
            for j in 0..<k where logits.data[row + j] > maxValue { maxValue = logits.data[row + j]; argmax = j }
            var sum = 0.0
            for j in 0..<k { sum += exp(Double(logits.data[row + j] - maxValue)) }
            let logSum = log(sum) + Double(maxValue)
            total += logSum - Double(logits.data[row + labels[i]])
            for j in 0..<k {
                let p = Float(exp(Double(logits.data[row + j]) - logSum))
                grad.data[row + j] = (p - (j == labels[i] ? 1 : 0)) * scale
            }
            if argmax == labels[i] { correct += 1 }
            predicted[i] = argmax
        }
        return Result(loss: total / Double(n), gradient: grad, correct: correct, predicted: predicted)
    }
}
