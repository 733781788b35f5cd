/// A set of channels, anywhere in the graph, that must be deleted together: the filters of
/// every producer that feeds them (both branches of a residual Add, say), the BatchNorm entries
/// after them, a depthwise convolution's filters, and the matching input slices of every
/// consumer. Channel `k` of the group is one such set; a plan deletes group channels by index.
///
/// Group channels are numbered in the order of the first tensor that holds them (normally the
/// first producer's filter order), so `[4, 6, 9]` means filters 4, 6 and 9 of that producer.
public struct ChannelGroup: Sendable, Codable, Equatable {
    /// The group's position in `ChannelAnalysis.groups`.
    public var id: Int
    /// The number of group channels.
    public var size: Int
    /// False when a channel reaches a graph output (the logits) or a graph input (the image
    /// channels): such groups cannot be pruned.
    public var prunable: Bool
    public var members: [Member]

    /// One layer's part in a group.
    public struct Member: Sendable, Codable, Equatable {
        public var layer: String
        public var type: String
        public var role: Role
        /// Channels of this layer's tensor (its output; a consumer's input) in the group.
        public var channels: Int
        /// All channels of that tensor, when the group holds only some (a Concatenate).
        public var of: Int?

        public init(layer: String, type: String, role: Role, channels: Int, of: Int? = nil) {
            self.layer = layer
            self.type = type
            self.role = role
            self.channels = channels
            self.of = of
        }
    }

    /// How a member takes part.
    public enum Role: String, Sendable, Codable, Equatable {
        /// Creates the channels (a Conv2D's filters, a Dense's units, a graph input).
        case producer
        /// Carries them through (BatchNorm, activations, pooling, Add, Concatenate, a depthwise
        /// convolution, Flatten).
        case follower
        /// Reads them and makes new channels from them (the next Conv2D or Dense): its input
        /// slice is deleted.
        case consumer
    }
}
