// The HDF5 C library (Debian: libhdf5-dev; the include path comes from pkg-config "hdf5").
//
// Many HDF5 constants are macros that read a global after calling H5open() (H5T_NATIVE_FLOAT)
// or hide a cast (H5P_DEFAULT, H5T_VARIABLE); Swift imports none of them reliably. Each one the
// Swift side needs has a wrapper below, named CHDF5_<macro>.
#ifndef CHDF5_SHIM_H
#define CHDF5_SHIM_H

#include <hdf5.h>

// Datatypes.
static inline hid_t CHDF5_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t CHDF5_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t CHDF5_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t CHDF5_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t CHDF5_H5T_NATIVE_UCHAR(void) { return H5T_NATIVE_UCHAR; }
static inline hid_t CHDF5_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t CHDF5_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t CHDF5_H5T_IEEE_F64BE(void) { return H5T_IEEE_F64BE; }
static inline hid_t CHDF5_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t CHDF5_H5T_C_S1(void) { return H5T_C_S1; }
static inline size_t CHDF5_H5T_VARIABLE(void) { return H5T_VARIABLE; }

// File access flags.
static inline unsigned CHDF5_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned CHDF5_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned CHDF5_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned CHDF5_H5F_OBJ_ALL(void) { return H5F_OBJ_ALL; }

// Property list classes and defaults.
static inline hid_t CHDF5_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t CHDF5_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
static inline hid_t CHDF5_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t CHDF5_H5P_DEFAULT(void) { return H5P_DEFAULT; }

// Dataspace selection and the default error stack.
static inline hid_t CHDF5_H5S_ALL(void) { return H5S_ALL; }
static inline hid_t CHDF5_H5E_DEFAULT(void) { return H5E_DEFAULT; }

// The kind (H5O_TYPE_GROUP, H5O_TYPE_DATASET, …) and the file address of the header of the
// object at `name` (relative to `location`), found without opening the object or decoding its
// messages (how the address is read changed in HDF5 1.12).
/// The type of the link `name` in `location` (H5L_TYPE_HARD, _SOFT, _EXTERNAL or a user-defined
/// type), read without following it; -1 when there is no such link.
static inline int CHDF5_link_type(hid_t location, const char *name) {
#if H5_VERSION_GE(1, 12, 0)
    H5L_info2_t info;
    if (H5Lget_info2(location, name, &info, H5P_DEFAULT) < 0) return -1;
#else
    H5L_info_t info;
    if (H5Lget_info(location, name, &info, H5P_DEFAULT) < 0) return -1;
#endif
    return (int)info.type;
}

static inline herr_t CHDF5_object_info(hid_t location, const char *name, H5O_type_t *type, haddr_t *address) {
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    if (H5Oget_info_by_name3(location, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
    *type = info.type;
    return H5VLnative_token_to_addr(location, info.token, address);
#else
    H5O_info_t info;
    if (H5Oget_info_by_name2(location, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
    *type = info.type;
    *address = info.addr;
    return 0;
#endif
}

#endif
