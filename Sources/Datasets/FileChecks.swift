import Tensors

/// True if `path` names a directory (following symlinks).
func isDirectory(_ path: String) -> Bool { FileInfo(path)?.isDirectory == true }

/// True if `path` names a regular file (following symlinks).
func isRegularFile(_ path: String) -> Bool { FileInfo(path)?.isRegularFile == true }
