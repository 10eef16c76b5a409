// zlib for gzip-compressed IDX files (Debian ships Fashion-MNIST as .gz).
#include <zlib.h>

// inflateInit2 is a macro; windowBits 16+MAX_WBITS selects the gzip wrapper.
static inline int dsc_inflate_init_gzip(z_streamp stream) { return inflateInit2(stream, 16 + MAX_WBITS); }
