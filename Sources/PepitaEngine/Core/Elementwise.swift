import Foundation

/// Elementwise operations on activations. They are memory-bound and cheap next
/// to the matrix products, so they are plain loops kept in this one file. Each
/// counts its operations into `recorder` (when given) once per call.
public enum Elementwise {
    /// `max(x, 0)` in place: one compare per element.
    public static func relu(_ matrix: inout Matrix, recorder: OperationRecorder? = nil) {
        recorder?.count(OperationTally(compares: matrix.count))
        matrix.values.withUnsafeMutableBufferPointer { values in
            // A select, not a branch: signs are random, so a branch mispredicts half the time.
            for i in values.indices { values[i] = values[i] > 0 ? values[i] : 0 }
        }
    }

    /// `x * mask` in place (inverted dropout: the mask holds 0 or 1/keep): one multiply per element.
    public static func multiply(_ matrix: inout Matrix, by mask: Matrix, recorder: OperationRecorder? = nil) {
        precondition(matrix.count == mask.count)
        recorder?.count(OperationTally(multiplies: matrix.count))
        matrix.values.withUnsafeMutableBufferPointer { values in
            mask.values.withUnsafeBufferPointer { scale in
                for i in values.indices { values[i] *= scale[i] }
            }
        }
    }

    /// `a - b`: one subtraction (counted under adds) per element.
    public static func difference(_ a: Matrix, _ b: Matrix, recorder: OperationRecorder? = nil) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns)
        recorder?.count(OperationTally(adds: a.count))
        var result = a
        result.values.withUnsafeMutableBufferPointer { values in
            b.values.withUnsafeBufferPointer { other in
                for i in values.indices { values[i] -= other[i] }
            }
        }
        return result
    }

    /// The output error `y - onehot(labels)`: 1 subtracted from each row's
    /// label entry, one subtraction per row (the other entries are `y - 0`).
    public static func outputError(_ probabilities: Matrix, labels: [Int32], recorder: OperationRecorder? = nil) -> Matrix {
        precondition(labels.count == probabilities.rows)
        recorder?.count(OperationTally(adds: labels.count))
        var error = probabilities
        for (row, label) in labels.enumerated() { error[row, Int(label)] -= 1 }
        return error
    }

    /// `sign(x)` as -1, 0 or +1: one (three-way) compare per element.
    public static func sign(_ matrix: Matrix, recorder: OperationRecorder? = nil) -> Matrix {
        recorder?.count(OperationTally(compares: matrix.count))
        var result = matrix
        for i in result.values.indices {
            let x = result.values[i]
            result.values[i] = x > 0 ? 1 : (x < 0 ? -1 : 0)
        }
        return result
    }

    /// Row-wise softmax, `exp(z - max z) / sum`, so large logits never overflow.
    /// Per row of `c` logits: `c - 1` compares (running max from the first),
    /// `c` subtractions of the max, `c` exps, `c - 1` adds (the sum from the
    /// first term), one reciprocal (a divide) and `c` multiplies by it.
    public static func softmax(_ logits: Matrix, recorder: OperationRecorder? = nil) -> Matrix {
        var result = logits
        let width = logits.columns
        guard width > 0 else { return result }
        recorder?.count(OperationTally(adds: logits.rows * (2 * width - 1), multiplies: logits.count,
                                       compares: logits.rows * (width - 1), exps: logits.count, divides: logits.rows))
        result.values.withUnsafeMutableBufferPointer { values in
            for row in 0..<logits.rows {
                let start = row * width
                var largest = values[start]
                for j in 1..<width { largest = max(largest, values[start + j]) }
                var total: Float = 0
                for j in 0..<width {
                    let e = exp(values[start + j] - largest)
                    values[start + j] = e
                    total = j == 0 ? e : total + e
                }
                let inverse = 1 / total
                for j in 0..<width { values[start + j] *= inverse }
            }
        }
        return result
    }

    /// Backpropagates through ReLU and the dropout mask: `gradient[i]` where the
    /// activation was positive, zero elsewhere, times `mask[i]` when a mask is
    /// given. One compare per element (`h > 0`: the ReLU derivative read from
    /// the stored activation) and, with a mask, one multiply per element.
    public static func maskByActivation(_ gradient: inout Matrix, activated: Matrix, mask: Matrix?,
                                        recorder: OperationRecorder? = nil) {
        precondition(gradient.count == activated.count)
        recorder?.count(OperationTally(multiplies: mask == nil ? 0 : gradient.count, compares: gradient.count))
        // Selects, not branches (signs are random, a branch mispredicts half the time).
        gradient.values.withUnsafeMutableBufferPointer { gradient in
            activated.values.withUnsafeBufferPointer { activated in
                if let mask {
                    mask.values.withUnsafeBufferPointer { mask in
                        for i in gradient.indices { gradient[i] = activated[i] > 0 ? gradient[i] * mask[i] : 0 }
                    }
                } else {
                    for i in gradient.indices { gradient[i] = activated[i] > 0 ? gradient[i] : 0 }
                }
            }
        }
    }
}
