// Snapshots: the HDF5 snapshot format (a public contract) and a thin HDF5 wrapper.
