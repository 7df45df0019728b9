import Foundation

/// Elementwise operations on activations. They are memory-bound and cheap next
/// to the matrix products, so they are plain loops kept in this one file.
public enum Elementwise {
    /// `max(x, 0)` in place.
    public static func relu(_ matrix: inout Matrix) {
        matrix.values.withUnsafeMutableBufferPointer { values in
            // A select, not a branch: signs are random, so a branch mispredicts half the time.
            for i in values.indices { values[i] = values[i] > 0 ? values[i] : 0 }
        }
    }

    /// `x * mask` in place (inverted dropout: the mask holds 0 or 1/keep).
    public static func multiply(_ matrix: inout Matrix, by mask: Matrix) {
        precondition(matrix.count == mask.count)
        matrix.values.withUnsafeMutableBufferPointer { values in
            mask.values.withUnsafeBufferPointer { scale in
                for i in values.indices { values[i] *= scale[i] }
            }
        }
    }

    /// `a - b`.
    public static func difference(_ a: Matrix, _ b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns)
        var result = a
        result.values.withUnsafeMutableBufferPointer { values in
            b.values.withUnsafeBufferPointer { other in
                for i in values.indices { values[i] -= other[i] }
            }
        }
        return result
    }

    /// `sign(x)` as -1, 0 or +1.
    public static func sign(_ matrix: Matrix) -> Matrix {
        var result = matrix
        for i in result.values.indices {
            let x = result.values[i]
            result.values[i] = x > 0 ? 1 : (x < 0 ? -1 : 0)
        }
        return result
    }

    /// Row-wise softmax, `exp(z - max z) / sum`, so large logits never overflow.
    public static func softmax(_ logits: Matrix) -> Matrix {
        var result = logits
        let width = logits.columns
        result.values.withUnsafeMutableBufferPointer { values in
            for row in 0..<logits.rows {
                let start = row * width
                var largest = -Float.infinity
                for j in 0..<width { largest = max(largest, values[start + j]) }
                var total: Float = 0
                for j in 0..<width {
                    let e = exp(values[start + j] - largest)
                    values[start + j] = e
                    total += e
                }
                let inverse = 1 / total
                for j in 0..<width { values[start + j] *= inverse }
            }
        }
        return result
    }

    /// Backpropagates through `ReLU` and the dropout mask: keeps `gradient[i] * mask[i]`
    /// where the activation was positive, zero elsewhere.
    public static func maskByActivation(_ gradient: inout Matrix, activated: Matrix, mask: Matrix?) {
        precondition(gradient.count == activated.count)
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
