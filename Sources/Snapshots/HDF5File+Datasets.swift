import CHDF5

/// Numeric datasets: float32, int64 and uint64, C order, any rank (rank 0 is a scalar).
///
/// Readers accept exactly the stored type they are named after and nothing else: silently
/// narrowing a float64 file to float32, or reading integers as floats, would hide a producer
/// bug (a `state_dict` saved as double) behind plausible numbers. The error names the dataset
/// and the type actually found.
extension HDF5File {
    /// The element type a dataset read expects; also used to describe what was found instead.
    enum Element {
        case float32, int64, uint64

        var name: String {
            switch self {
            case .float32: "float32"
            case .int64: "int64"
            case .uint64: "uint64"
            }
        }

        var memoryType: hid_t {
            switch self {
            case .float32: dsc_h5t_native_float()
            case .int64: dsc_h5t_native_int64()
            case .uint64: dsc_h5t_native_uint64()
            }
        }

        var fileType: hid_t {
            switch self {
            case .float32: dsc_h5t_ieee_f32le()
            case .int64: dsc_h5t_std_i64le()
            case .uint64: dsc_h5t_std_u64le()
            }
        }

        func matches(_ type: hid_t) -> Bool {
            let size = H5Tget_size(type)
            switch self {
            case .float32: return H5Tget_class(type) == H5T_FLOAT && size == 4
            case .int64: return H5Tget_class(type) == H5T_INTEGER && size == 8 && H5Tget_sign(type) == H5T_SGN_2
            case .uint64: return H5Tget_class(type) == H5T_INTEGER && size == 8 && H5Tget_sign(type) == H5T_SGN_NONE
            }
        }
    }

    // MARK: Writing

    /// Writes a new float32 dataset (missing parent groups are created). `values` is C order.
    public func writeFloat32(_ datasetPath: String, shape: [Int], values: [Float]) throws {
        try values.withUnsafeBytes { try write(datasetPath, .float32, shape: shape, count: values.count, bytes: $0) }
    }

    /// Writes a new int64 dataset (missing parent groups are created). `values` is C order.
    public func writeInt64(_ datasetPath: String, shape: [Int], values: [Int64]) throws {
        try values.withUnsafeBytes { try write(datasetPath, .int64, shape: shape, count: values.count, bytes: $0) }
    }

    /// Writes a new uint64 dataset (missing parent groups are created). `values` is C order.
    public func writeUInt64(_ datasetPath: String, shape: [Int], values: [UInt64]) throws {
        try values.withUnsafeBytes { try write(datasetPath, .uint64, shape: shape, count: values.count, bytes: $0) }
    }

    private func write(_ datasetPath: String, _ element: Element, shape: [Int], count: Int, bytes: UnsafeRawBufferPointer) throws {
        let id = try openFile()
        try requireWritable()
        let name = absolute(datasetPath)
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == count else {
            throw HDF5Error(file: path, message: "dataset \(name): shape \(shape) does not hold \(count) values")
        }
        guard try kind(of: datasetPath) == nil else {
            throw HDF5Error(file: path, message: "dataset \(name) already exists")
        }
        let dims = shape.map { hsize_t($0) }
        let space = shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(shape.count), dims, nil)
        guard space >= 0 else { throw fail("cannot describe the shape \(shape) of \(name)") }
        defer { H5Sclose(space) }
        let lcpl = try linkCreateList()
        defer { H5Pclose(lcpl) }
        let dataset = H5Dcreate2(id, name, element.fileType, space, lcpl, dsc_h5p_default(), dsc_h5p_default())
        guard dataset >= 0 else { throw fail("cannot create dataset \(name)") }
        // An empty selection needs no transfer, and H5Dwrite rejects a null buffer.
        if count > 0 {
            let status = H5Dwrite(dataset, element.memoryType, dsc_h5s_all(), dsc_h5s_all(), dsc_h5p_default(), bytes.baseAddress)
            guard status >= 0 else {
                let error = fail("cannot write dataset \(name)")
                H5Dclose(dataset)
                throw error
            }
        }
        try checkClose(H5Dclose(dataset), name)
    }

    // MARK: Reading

    /// Reads a float32 dataset; any other stored type is an error naming the type found.
    public func readFloat32(_ datasetPath: String) throws -> (shape: [Int], values: [Float]) {
        try read(datasetPath, .float32, as: Float.self)
    }

    /// Reads an int64 dataset; any other stored type is an error naming the type found.
    public func readInt64(_ datasetPath: String) throws -> (shape: [Int], values: [Int64]) {
        try read(datasetPath, .int64, as: Int64.self)
    }

    /// Reads a uint64 dataset; any other stored type is an error naming the type found.
    public func readUInt64(_ datasetPath: String) throws -> (shape: [Int], values: [UInt64]) {
        try read(datasetPath, .uint64, as: UInt64.self)
    }

    /// The shape of a dataset (empty for a scalar), without reading its values.
    /// True when the dataset holds float32 values (what `readFloat32` reads).
    public func isFloat32(_ datasetPath: String) throws -> Bool {
        try withDataset(datasetPath) { dataset, name in
            let type = H5Dget_type(dataset)
            guard type >= 0 else { throw fail("cannot read the type of dataset \(name)") }
            defer { H5Tclose(type) }
            return Element.float32.matches(type)
        }
    }

    public func datasetShape(_ datasetPath: String) throws -> [Int] {
        try withDataset(datasetPath) { dataset, name in try shape(of: dataset, name) }
    }

    private func read<T: Numeric>(_ datasetPath: String, _ element: Element, as _: T.Type) throws -> (shape: [Int], values: [T]) {
        try withDataset(datasetPath) { dataset, name in
            let type = H5Dget_type(dataset)
            guard type >= 0 else { throw fail("cannot read the type of dataset \(name)") }
            defer { H5Tclose(type) }
            guard element.matches(type) else {
                throw HDF5Error(file: path, message: "dataset \(name) is \(Self.describe(type)), expected \(element.name)")
            }
            let shape = try shape(of: dataset, name)
            let count = shape.reduce(1, *)
            guard count > 0 else { return (shape, []) }
            try checkStoredSize(dataset, name, shape: shape, bytes: count * MemoryLayout<T>.size)
            var failed = false
            let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                let status = H5Dread(dataset, element.memoryType, dsc_h5s_all(), dsc_h5s_all(), dsc_h5p_default(), buffer.baseAddress)
                if status < 0 {
                    failed = true
                    buffer.initialize(repeating: 0)
                }
                initialized = count
            }
            if failed { throw fail("cannot read dataset \(name)") }
            return (shape, values)
        }
    }

    private func withDataset<R>(_ datasetPath: String, _ body: (hid_t, String) throws -> R) throws -> R {
        let id = try openFile()
        let name = absolute(datasetPath)
        switch try kind(of: datasetPath) {
        case .dataset?: break
        case nil: throw HDF5Error(file: path, message: "dataset \(name) is missing")
        case _?: throw HDF5Error(file: path, message: "\(name) is not a dataset")
        }
        let dataset = H5Dopen2(id, name, dsc_h5p_default())
        guard dataset >= 0 else { throw fail("cannot open dataset \(name)") }
        defer { H5Dclose(dataset) }
        return try body(dataset, name)
    }

    /// The dataset's dimensions, refusing null dataspaces and element counts above
    /// ``maximumElementCount`` (checked with overflow detection before any allocation).
    private func shape(of dataset: hid_t, _ name: String) throws -> [Int] {
        let space = H5Dget_space(dataset)
        guard space >= 0 else { throw fail("cannot read the shape of dataset \(name)") }
        defer { H5Sclose(space) }
        switch H5Sget_simple_extent_type(space) {
        case H5S_SCALAR: return []
        case H5S_SIMPLE: break
        default: throw HDF5Error(file: path, message: "dataset \(name) has no data (null dataspace)")
        }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, rank <= 32 else { throw fail("cannot read the shape of dataset \(name)") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else {
            throw fail("cannot read the shape of dataset \(name)")
        }
        var total: UInt64 = 1
        for dim in dims {
            let (product, overflow) = total.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= UInt64(Self.maximumElementCount) else {
                throw HDF5Error(file: path, message: "dataset \(name) is too large (shape \(dims), limit \(Self.maximumElementCount) elements)")
            }
            total = product
        }
        return dims.map { Int($0) }
    }

    /// Refuses a dataset whose claimed size cannot come from this file, before memory is reserved
    /// for it: a few hundred bytes of header can claim 2^31 elements. Uncompressed (contiguous or
    /// compact) data must fit in the file; chunked data may be compressed, and deflate, the filter
    /// HDF5 tools use, expands at most 1032:1, so it may claim up to 1100 times the file size.
    private func checkStoredSize(_ dataset: hid_t, _ name: String, shape: [Int], bytes: Int) throws {
        let plist = H5Dget_create_plist(dataset)
        guard plist >= 0 else { throw fail("cannot read the layout of dataset \(name)") }
        let layout = H5Pget_layout(plist)
        H5Pclose(plist)
        let fileBytes = try fileSize()
        let limit = layout == H5D_CHUNKED ? fileBytes.multipliedReportingOverflow(by: 1100).partialValue : fileBytes
        guard bytes <= limit else {
            throw HDF5Error(file: path, message: "dataset \(name) claims shape \(shape) (\(bytes) bytes), more than the \(fileBytes)-byte file can hold; the file is truncated or corrupt")
        }
    }

    /// A short numpy-style name for a stored type: "float64", "int32", "string", ...
    static func describe(_ type: hid_t) -> String {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT: return "float\(size * 8)"
        case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(size * 8)"
        case H5T_STRING: return "a string"
        case H5T_COMPOUND: return "a compound type"
        case H5T_ENUM: return "an enum"
        case H5T_ARRAY: return "an array type"
        case H5T_VLEN: return "a variable-length sequence"
        case H5T_BITFIELD: return "a bitfield"
        case H5T_OPAQUE: return "opaque"
        case H5T_REFERENCE: return "a reference"
        case H5T_TIME: return "a time type"
        default: return "an unknown type"
        }
    }
}
