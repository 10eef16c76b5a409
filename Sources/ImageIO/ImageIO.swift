// ImageIO: PNG encoding and decoding through libpng's simplified API.
