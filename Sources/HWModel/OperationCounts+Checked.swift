/// Overflow-checked arithmetic on counts, for totals whose size the caller
/// does not bound in advance (an epoch of a user-given number of samples).
extension OperationCounts {
    /// `count * self`, or nil if any count overflows an `Int`.
    func multipliedChecked(by count: Int) -> OperationCounts? {
        combined(self) { a, _ in a.multipliedReportingOverflow(by: count) }
    }

    /// `self + other`, or nil if any count overflows an `Int`.
    func addingChecked(_ other: OperationCounts) -> OperationCounts? {
        combined(other) { $0.addingReportingOverflow($1) }
    }

    private func combined(_ other: OperationCounts, _ operation: (Int, Int) -> (partialValue: Int, overflow: Bool)) -> OperationCounts? {
        let pairs = [(macs, other.macs), (adds, other.adds), (multiplies, other.multiplies),
                     (compares, other.compares), (exps, other.exps), (divides, other.divides)]
        var results: [Int] = []
        for (a, b) in pairs {
            let (value, overflow) = operation(a, b)
            if overflow { return nil }
            results.append(value)
        }
        return OperationCounts(macs: results[0], adds: results[1], multiplies: results[2],
                               compares: results[3], exps: results[4], divides: results[5])
    }
}
