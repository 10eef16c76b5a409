// HDF5's type ids and flags are C macros (often expanding to global variables that
// Swift 6 concurrency checking rejects); these inline functions hand them to Swift.
#include <hdf5.h>

static inline hid_t dsc_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t dsc_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t dsc_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t dsc_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t dsc_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t dsc_h5t_c_s1(void) { return H5T_C_S1; }
static inline size_t dsc_h5t_variable(void) { return H5T_VARIABLE; }
static inline hid_t dsc_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t dsc_h5s_all(void) { return H5S_ALL; }
static inline hid_t dsc_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t dsc_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t dsc_h5e_default(void) { return H5E_DEFAULT; }
static inline unsigned dsc_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned dsc_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned dsc_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline void dsc_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
// Added for the Snapshots target: unsigned 64-bit (PRNG state), explicit little-endian file
// types (so files are byte-identical regardless of the writer's CPU), and a version-portable
// "is this an HDF5 file" check (H5Fis_hdf5 is deprecated from 1.12 on).
static inline hid_t dsc_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t dsc_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t dsc_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t dsc_h5t_std_u64le(void) { return H5T_STD_U64LE; }
static inline htri_t dsc_h5f_is_hdf5(const char *path) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Fis_accessible(path, H5P_DEFAULT);
#else
    return H5Fis_hdf5(path);
#endif
}
