import CHDF5

/// The element type of a dataset, as stored in the file.
public enum HDF5ElementType: Equatable, Sendable, CustomStringConvertible {
    /// IEEE half precision (NumPy `float16`; Keras layers with the float16 policy).
    case float16
    case float32
    case float64
    /// Keras's bfloat16: a 2-byte opaque type on a dataset whose attribute `dtype` is "bfloat16".
    case bfloat16
    /// A two's-complement (`signed`) or unsigned integer of `bits` bits, any byte order.
    case integer(bits: Int, signed: Bool)
    /// Anything else, named: "variable-length string", "opaque (2 bytes)", "compound", …
    case other(String)

    public var description: String {
        switch self {
        case .float16: return "float16"
        case .float32: return "float32"
        case .float64: return "float64"
        case .bfloat16: return "bfloat16"
        case let .integer(bits, signed): return "\(signed ? "int" : "uint")\(bits)"
        case let .other(name): return name
        }
    }

    /// Whether `HDF5Dataset.readFloats` converts elements of this type.
    var convertsToFloat: Bool {
        if case .other = self { return false }
        return true
    }

    /// Whether this is an integer type (what `HDF5Dataset.readInt64s` reads).
    var isInteger: Bool {
        if case .integer = self { return true }
        return false
    }

    /// The type of the HDF5 datatype `type`; `kerasDType` is the dataset's `dtype` attribute
    /// (which marks Keras's bfloat16). Call only inside `HDF5Library.locked`.
    static func of(_ type: hid_t, kerasDType: String? = nil) -> HDF5ElementType {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            switch size {
            case 2 where isIEEEHalf(type): return .float16
            case 4: return .float32
            case 8: return .float64
            default: return .other("float of \(size) bytes")
            }
        case H5T_INTEGER:
            return .integer(bits: size * 8, signed: H5Tget_sign(type) == H5T_SGN_2)
        case H5T_STRING:
            return H5Tis_variable_str(type) > 0
                ? .other("variable-length string") : .other("fixed-length string of \(size) bytes")
        case H5T_OPAQUE:
            if size == 2, kerasDType == "bfloat16" { return .bfloat16 }
            var name = "opaque (\(size) bytes"
            if let tag = H5Tget_tag(type) {
                let text = String(cString: tag)
                if !text.isEmpty { name += ", tag '\(text)'" }
                H5free_memory(tag)
            }
            return .other(name + ")")
        case H5T_COMPOUND: return .other("compound")
        case H5T_ENUM: return .other("enum")
        case H5T_REFERENCE: return .other("reference")
        case H5T_VLEN: return .other("variable-length sequence")
        case H5T_ARRAY: return .other("array")
        case H5T_BITFIELD: return .other("bitfield")
        case H5T_TIME: return .other("time")
        default: return .other("unknown type class")
        }
    }

    /// Why numeric type `type` cannot be converted safely (bit fields outside its bytes, as
    /// only a damaged file has), or nil. HDF5's soft conversions trust these fields.
    /// Call only inside `HDF5Library.locked`.
    static func malformation(of type: hid_t) -> String? {
        let typeClass = H5Tget_class(type)
        guard typeClass == H5T_FLOAT || typeClass == H5T_INTEGER else { return nil }
        let bits = H5Tget_size(type) * 8
        let precision = H5Tget_precision(type), offset = Int(H5Tget_offset(type))
        guard (1...128).contains(bits), precision >= 1, offset >= 0, offset + precision <= bits else {
            HDF5Library.discardErrors()
            return "its precision and offset do not fit in \(bits / 8) bytes"
        }
        guard typeClass == H5T_FLOAT else { return nil }
        var sign = 0, exponentPosition = 0, exponentSize = 0, mantissaPosition = 0, mantissaSize = 0
        guard H5Tget_fields(type, &sign, &exponentPosition, &exponentSize, &mantissaPosition, &mantissaSize) >= 0,
            (1...32).contains(exponentSize), (1...112).contains(mantissaSize), sign < bits,
            exponentPosition + exponentSize <= bits, mantissaPosition + mantissaSize <= bits
        else {
            HDF5Library.discardErrors()
            return "its sign, exponent and mantissa fields do not fit in \(bits / 8) bytes"
        }
        return nil
    }

    /// Whether a 2-byte float type has IEEE half's layout (sign 15, exponent 10..14, mantissa 0..9).
    private static func isIEEEHalf(_ type: hid_t) -> Bool {
        var sign = 0, exponentPosition = 0, exponentSize = 0, mantissaPosition = 0, mantissaSize = 0
        guard H5Tget_fields(type, &sign, &exponentPosition, &exponentSize, &mantissaPosition, &mantissaSize) >= 0
        else {
            HDF5Library.discardErrors()
            return false
        }
        return (sign, exponentPosition, exponentSize, mantissaPosition, mantissaSize) == (15, 10, 5, 0, 10)
    }
}
