import CHDF5
import Foundation

/// Scalar attributes on the root group or any object: UTF-8 strings and int64.
///
/// Strings are written as variable-length UTF-8 because that is what h5py hands back as `str`
/// (fixed-length strings come back as `bytes`). Reading is more forgiving, since other tools
/// write what they like: fixed-length strings (space- or NUL-padded) are accepted, and integer
/// attributes of any width are widened to Int64 when that is lossless (a numpy `int32` written
/// by a script still loads). Anything else is an error naming the attribute and the type found.
extension HDF5File {
    /// Whether the object at `objectPath` (default: the root group) has the attribute `name`.
    public func hasAttribute(_ name: String, on objectPath: String = "/") throws -> Bool {
        let id = try openFile()
        try requireObject(objectPath)
        let found = H5Aexists_by_name(id, absolute(objectPath), name, dsc_h5p_default())
        guard found >= 0 else { throw fail("cannot look up attribute '\(name)' on \(absolute(objectPath))") }
        return found > 0
    }

    /// Writes (or replaces) a scalar variable-length UTF-8 string attribute.
    public func setStringAttribute(_ name: String, _ value: String, on objectPath: String = "/") throws {
        guard !value.utf8.contains(0) else {
            throw HDF5Error(file: path, message: "attribute '\(name)': strings cannot contain NUL characters")
        }
        let type = try variableStringType(cset: H5T_CSET_UTF8)
        defer { H5Tclose(type) }
        try writeAttribute(name, on: objectPath, type: type) { attribute in
            value.withCString { characters in
                var pointer: UnsafePointer<CChar>? = characters
                return H5Awrite(attribute, type, &pointer)
            }
        }
    }

    /// Writes (or replaces) a scalar int64 attribute.
    public func setInt64Attribute(_ name: String, _ value: Int64, on objectPath: String = "/") throws {
        try writeAttribute(name, on: objectPath, type: dsc_h5t_std_i64le()) { attribute in
            var value = value
            return H5Awrite(attribute, dsc_h5t_native_int64(), &value)
        }
    }

    /// Reads a string attribute (variable- or fixed-length, ASCII or UTF-8); nil if absent.
    public func stringAttribute(_ name: String, on objectPath: String = "/") throws -> String? {
        try readAttribute(name, on: objectPath) { attribute, type, label in
            guard H5Tget_class(type) == H5T_STRING else {
                throw HDF5Error(file: path, message: "\(label) is \(Self.describe(type)), expected a string")
            }
            let variable = H5Tis_variable_str(type)
            guard variable >= 0 else { throw fail("cannot read the type of \(label)") }
            return variable > 0
                ? try readVariableString(attribute, fileType: type, label)
                : try readFixedString(attribute, fileType: type, label)
        }
    }

    /// Reads an integer attribute as Int64; nil if absent. Narrower integers are widened;
    /// floats, strings and uint64 values above `Int64.max` are errors.
    public func int64Attribute(_ name: String, on objectPath: String = "/") throws -> Int64? {
        try readAttribute(name, on: objectPath) { attribute, type, label in
            guard H5Tget_class(type) == H5T_INTEGER, H5Tget_size(type) <= 8 else {
                throw HDF5Error(file: path, message: "\(label) is \(Self.describe(type)), expected int64")
            }
            if H5Tget_sign(type) == H5T_SGN_NONE, H5Tget_size(type) == 8 {
                var value: UInt64 = 0
                guard H5Aread(attribute, dsc_h5t_native_uint64(), &value) >= 0 else { throw fail("cannot read \(label)") }
                guard let signed = Int64(exactly: value) else {
                    throw HDF5Error(file: path, message: "\(label) is \(value), too large for int64")
                }
                return signed
            }
            var value: Int64 = 0
            guard H5Aread(attribute, dsc_h5t_native_int64(), &value) >= 0 else { throw fail("cannot read \(label)") }
            return value
        }
    }

    // MARK: Internals

    private func requireObject(_ objectPath: String) throws {
        guard try exists(objectPath) else {
            throw HDF5Error(file: path, message: "\(absolute(objectPath)) does not exist")
        }
    }

    private func variableStringType(cset: H5T_cset_t) throws -> hid_t {
        let type = H5Tcopy(dsc_h5t_c_s1())
        guard type >= 0 else { throw fail("cannot create a string type") }
        guard H5Tset_size(type, dsc_h5t_variable()) >= 0, H5Tset_cset(type, cset) >= 0 else {
            let error = fail("cannot create a string type")
            H5Tclose(type)
            throw error
        }
        return type
    }

    private func writeAttribute(_ name: String, on objectPath: String, type: hid_t, _ write: (hid_t) -> herr_t) throws {
        let id = try openFile()
        try requireWritable()
        let object = absolute(objectPath)
        let label = "attribute '\(name)' on \(object)"
        if try hasAttribute(name, on: objectPath) {
            guard H5Adelete_by_name(id, object, name, dsc_h5p_default()) >= 0 else { throw fail("cannot replace \(label)") }
        }
        let space = H5Screate(H5S_SCALAR)
        guard space >= 0 else { throw fail("cannot create \(label)") }
        defer { H5Sclose(space) }
        let attribute = H5Acreate_by_name(id, object, name, type, space, dsc_h5p_default(), dsc_h5p_default(), dsc_h5p_default())
        guard attribute >= 0 else { throw fail("cannot create \(label)") }
        guard write(attribute) >= 0 else {
            let error = fail("cannot write \(label)")
            H5Aclose(attribute)
            throw error
        }
        guard H5Aclose(attribute) >= 0 else { throw fail("cannot finish writing \(label)") }
    }

    /// Opens attribute `name`, checks it holds exactly one value, and hands it to `body` with
    /// its stored type and a label for messages. Returns nil if the attribute does not exist.
    private func readAttribute<T>(_ name: String, on objectPath: String, _ body: (hid_t, hid_t, String) throws -> T) throws -> T? {
        guard try hasAttribute(name, on: objectPath) else { return nil }
        let id = try openFile()
        let object = absolute(objectPath)
        let label = object == "/" ? "attribute '\(name)'" : "attribute '\(name)' on \(object)"
        let attribute = H5Aopen_by_name(id, object, name, dsc_h5p_default(), dsc_h5p_default())
        guard attribute >= 0 else { throw fail("cannot open \(label)") }
        defer { H5Aclose(attribute) }
        let space = H5Aget_space(attribute)
        guard space >= 0 else { throw fail("cannot read the shape of \(label)") }
        let points = H5Sget_simple_extent_npoints(space)
        H5Sclose(space)
        guard points == 1 else {
            throw HDF5Error(file: path, message: "\(label) holds \(points) values, expected one")
        }
        let type = H5Aget_type(attribute)
        guard type >= 0 else { throw fail("cannot read the type of \(label)") }
        defer { H5Tclose(type) }
        return try body(attribute, type, label)
    }

    private func readVariableString(_ attribute: hid_t, fileType: hid_t, _ label: String) throws -> String {
        // Same character set as stored: HDF5 does not convert between ASCII and UTF-8.
        let memoryType = try variableStringType(cset: H5Tget_cset(fileType))
        defer { H5Tclose(memoryType) }
        var pointer: UnsafeMutablePointer<CChar>? = nil
        guard H5Aread(attribute, memoryType, &pointer) >= 0 else { throw fail("cannot read \(label)") }
        guard let pointer else { return "" }
        defer { H5free_memory(pointer) }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))
        return try decodeUTF8(bytes, label)
    }

    private func readFixedString(_ attribute: hid_t, fileType: hid_t, _ label: String) throws -> String {
        let size = H5Tget_size(fileType)
        guard size > 0, size <= Self.maximumElementCount else { throw fail("cannot read the type of \(label)") }
        // The value is stored in the file, so a longer claimed length means a corrupt header.
        guard size <= (try fileSize()) else {
            throw HDF5Error(file: path, message: "\(label) claims \(size) characters, more than the file holds")
        }
        let memoryType = H5Tcopy(fileType)
        guard memoryType >= 0 else { throw fail("cannot read \(label)") }
        defer { H5Tclose(memoryType) }
        var bytes = [UInt8](repeating: 0, count: size)
        guard H5Aread(attribute, memoryType, &bytes) >= 0 else { throw fail("cannot read \(label)") }
        if H5Tget_strpad(fileType) == H5T_STR_SPACEPAD {
            while bytes.last == 0x20 { bytes.removeLast() }
        } else if let end = bytes.firstIndex(of: 0) {
            bytes.removeSubrange(end...)
        }
        return try bytes.withUnsafeBytes { try decodeUTF8($0, label) }
    }

    private func decodeUTF8(_ bytes: UnsafeRawBufferPointer, _ label: String) throws -> String {
        guard let text = String(bytes: bytes, encoding: .utf8) else {
            throw HDF5Error(file: path, message: "\(label) is not valid UTF-8")
        }
        return text
    }
}
