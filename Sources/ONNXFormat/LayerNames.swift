/// Layer names for the report and the snapshot groups, made from ONNX node names.
///
/// Exporters name nodes after the module path: PyTorch writes `/conv1/Conv`, `/features/features.0/Conv`,
/// `/layer1/layer1.0/conv1/Conv`. The name drops the op type at the end, keeps the module path with a
/// component that restates its parent's prefix collapsed (`features/features.0` -> `features.0`, the
/// `state_dict` prefix), and keeps only the letters, digits, `_`, `.` and `-` a layer name may use.
struct LayerNames {
    private var used = Set<String>()
    private var counts: [String: Int] = [:]

    /// A unique safe name for the node; `kind` ("conv", "linear", "bn") names nodes that have no usable name.
    mutating func name(node: String, op: String, kind: String) -> String {
        var base = Self.safe(Self.modulePath(node: node, op: op))
        if base.isEmpty {
            counts[kind, default: 0] += 1
            base = "\(kind)\(counts[kind]!)"
        }
        var candidate = base, suffix = 1
        while used.contains(candidate) {
            suffix += 1
            candidate = "\(base)_\(suffix)"
        }
        used.insert(candidate)
        return candidate
    }

    /// `/layer1/layer1.0/conv1/Conv` -> `layer1.0.conv1`; a name without slashes is kept as it is.
    static func modulePath(node: String, op: String) -> String {
        var components = node.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if components.count > 1, let last = components.last, last == op || last.hasPrefix(op + "_") {
            components.removeLast()
        }
        var path = ""
        for component in components {
            if !path.isEmpty, component.hasPrefix(path + ".") {
                path = component
            } else {
                path = path.isEmpty ? component : path + "." + component
            }
        }
        return path
    }

    /// Letters, digits, `_`, `.`, `-` only (others become `_`), at most 100 characters, not starting with
    /// `.` or `-` (an HDF5 group named `.` or `..` would not be a new group).
    static func safe(_ text: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        var result = String(text.map { allowed.contains($0) ? $0 : "_" }.prefix(100))
        while let first = result.first, first == "." || first == "-" { result.removeFirst() }
        return result
    }
}
