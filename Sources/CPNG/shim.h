// libpng's simplified API works from Swift without setjmp; its composite format
// macros cannot be imported, so they are re-exported as functions.
#include <png.h>

static inline png_uint_32 dsc_png_format_gray(void) { return PNG_FORMAT_GRAY; }
static inline png_uint_32 dsc_png_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline png_uint_32 dsc_png_image_version(void) { return PNG_IMAGE_VERSION; }
static inline size_t dsc_png_image_size(png_imagep image) { return PNG_IMAGE_SIZE(*image); }
static inline unsigned dsc_png_image_channels(png_uint_32 format) { return PNG_IMAGE_PIXEL_CHANNELS(format); }
// Upper bound on the encoded size of `image` (for png_image_write_to_memory with 8-bit rows, stride 0).
static inline size_t dsc_png_image_png_size_max(png_imagep image) { return PNG_IMAGE_PNG_SIZE_MAX(*image); }
