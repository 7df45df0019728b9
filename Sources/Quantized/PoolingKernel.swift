import CKernels

/// 2x2 max pooling with stride 2 in `CKernels` (vectorised on the AVX paths),
/// for the float engine's values and the fixed-point engine's codes: `planes`
/// planes of `height x width` one after the other (an odd last row or column
/// dropped) into `planes * (height / 2) * (width / 2)` outputs, each the
/// largest of its block, and the index in `input` of its winner: the first
/// largest in row-major order (strict `>`, so ties and NaN keep the earlier
/// value). Indices must fit `Int32`.
public enum PoolingKernel {
    public static func maxPool(_ input: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                               output: UnsafeMutablePointer<Float>, winners: UnsafeMutablePointer<Int32>) {
        ck_max_pool_float(input, planes, height, width, output, winners)
    }

    public static func maxPool(_ input: UnsafePointer<Int16>, planes: Int, height: Int, width: Int,
                               output: UnsafeMutablePointer<Int16>, winners: UnsafeMutablePointer<Int32>) {
        ck_max_pool_int16(input, planes, height, width, output, winners)
    }
}
