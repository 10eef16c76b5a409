/// The per-filter flags, one type for the monitor (which sets them), the report (which shows them)
/// and the CLI (`--fail-on`). The raw value is the name in findings.json and on the command line.
public enum FilterFlag: String, Codable, Sendable, CaseIterable {
    case dead, collapsed, dormant, dominant, aliased

    /// Canonical order in tables (the order of `LayerFindings`' fields).
    public static let tableOrder: [FilterFlag] = [.dead, .dormant, .aliased, .collapsed, .dominant]

    /// The filters of `layer` that carry this flag.
    public func filters(in layer: LayerFindings) -> [Int] {
        switch self {
        case .dead: return layer.deadFilters
        case .dormant: return layer.dormantFilters
        case .aliased: return layer.aliasedFilters
        case .collapsed: return layer.collapsedFilters
        case .dominant: return layer.dominantFilters
        }
    }

    /// Flags of one filter, most severe first (the order of `allCases`).
    public static func of(_ filter: FilterFindings) -> [FilterFlag] {
        allCases.filter { filter.flags.contains($0) }
    }
}
