import Quantized
/// One row of a run's `metrics.csv` / `metrics.json`.
///
/// Training loss and accuracy are measured on the first (standard) forward
/// pass of each mini-batch as it trains, with dropout on — what the run saw,
/// not a separate clean evaluation. Test and validation figures are a clean
/// pass (no dropout) after the epoch.
public struct EpochMetrics: Codable, Equatable, Sendable {
    /// Epochs completed (1 for the first).
    public var epoch: Int
    public var learningRate: Float
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    /// Wall-clock seconds of the training steps of this epoch (no evaluation).
    public var trainSeconds: Double
    /// Wall-clock seconds of evaluating test (and validation) sets.
    public var evaluationSeconds: Double
    /// Fixed point only: per tensor role, the narrowings of this epoch's
    /// training steps — saturations, values rounded to zero, largest magnitude
    /// against the format's range, accumulator overflows.
    public var quantization: [TensorRole: QuantizationCounters]?
    /// The operations this epoch's training steps performed, counted by the
    /// kernels, per phase and layer (nil when counting is off).
    public var operations: RecordedOperations?

    public static let csvHeader = "epoch,learning_rate,train_loss,train_accuracy,test_loss,test_accuracy,validation_loss,validation_accuracy,train_seconds,evaluation_seconds"

    public var csvRow: String {
        func text(_ value: Double?) -> String { value.map { String($0) } ?? "" }
        return [String(epoch), String(learningRate), text(trainLoss), text(trainAccuracy), text(testLoss),
                text(testAccuracy), text(validationLoss), text(validationAccuracy), text(trainSeconds),
                text(evaluationSeconds)].joined(separator: ",")
    }
}

/// Mean cross-entropy and accuracy of a network's predictions.
public struct Evaluation: Equatable, Sendable {
    public var loss: Double
    public var accuracy: Double

    /// Evaluates `network` on `samples` without dropout.
    public static func measure(_ network: Network, on samples: LabelledSamples, threads: Int) -> Evaluation {
        guard samples.count > 0 else { return Evaluation(loss: .nan, accuracy: .nan) }
        let input = Matrix(rows: samples.count, columns: samples.shape.featureCount, values: samples.pixels)
        let probabilities = network.predict(input, threads: threads)
        return score(probabilities: probabilities, labels: samples.labels[...])
    }

    /// Mean of `-log p(target)` (p clamped at 1e-12) and the fraction of rows whose
    /// largest probability is the target (ties go to the lower class).
    public static func score(probabilities: Matrix, labels: ArraySlice<Int32>) -> Evaluation {
        var loss = 0.0, correct = 0
        for (row, label) in labels.enumerated() {
            let start = row * probabilities.columns
            var best = 0
            for j in 1..<probabilities.columns where probabilities.values[start + j] > probabilities.values[start + best] {
                best = j
            }
            if best == Int(label) { correct += 1 }
            loss -= log(max(Double(probabilities.values[start + Int(label)]), 1e-12))
        }
        return Evaluation(loss: loss / Double(labels.count), accuracy: Double(correct) / Double(labels.count))
    }
}

import Foundation
