/// Which channels to delete, per coupled group: the per-layer deletion lists of the hand-made
/// workflow, made safe. Codable as JSON that a person can read and edit; each group repeats
/// its members and size so that a plan applied to another model is refused, not misapplied.
public struct PruningPlan: Sendable, Codable, Equatable {
    /// The plan format version.
    public var surgeonPlan: Int
    public var groups: [Group]

    /// One group's deletion list.
    public struct Group: Sendable, Codable, Equatable {
        public var id: Int
        public var size: Int
        public var prunable: Bool
        public var members: [ChannelGroup.Member]
        /// Group channel indices to delete, ascending.
        public var delete: [Int]

        public init(_ group: ChannelGroup, delete: [Int] = []) {
            id = group.id
            size = group.size
            prunable = group.prunable
            members = group.members
            self.delete = delete.sorted()
        }
    }

    public static let formatVersion = 1

    public init(groups: [Group]) {
        surgeonPlan = Self.formatVersion
        self.groups = groups
    }

    /// A plan listing every group of `analysis` with nothing to delete: a template to edit.
    public init(template analysis: ChannelAnalysis) {
        self.init(groups: analysis.groups.map { Group($0) })
    }

    /// Total channels deleted across groups.
    public var deletedCount: Int { groups.reduce(0) { $0 + $1.delete.count } }

    enum CodingKeys: String, CodingKey {
        case surgeonPlan = "surgeon_plan"
        case groups
    }
}
