"""Writes tests/data/lenient/: small BMP and TIFF files that browsers show and strict
decoders refuse (issue 18, item 10), byte by byte with struct (no encoder involved),
except the YCbCr TIFFs without subsampled chroma, which Pillow writes (run this with
Pillow installed); those with subsampled chroma, which Pillow cannot write, are written
here with zlib, PackBits or the LZW encoder below.
Run once by hand (`python3 make_lenient.py` in tests/data); the files are committed.
tests/pillow/lenient.py holds what each must decode to, and checks it against Pillow
where Pillow is lenient too."""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lenient")


def file_header(size, offset):
    return b"BM" + struct.pack("<IHHI", size, 0, 0, offset)


def info_header(width, height, bits, compression, image_size, colors=0, planes=1):
    return struct.pack("<IiiHHIIiiII", 40, width, height, planes, bits, compression, image_size, 2835, 2835, colors, 0)


# 5 x 3, 24-bit, rows bottom-up padded to 4 bytes; pixel (x, y) = (40x + 7y, 17x + 50y, 255 - 30x - 20y).
PLANES_W, PLANES_H = 5, 3


def planes2():
    rows = []
    for y in reversed(range(PLANES_H)):
        row = b"".join(bytes([255 - 30 * x - 20 * y, 17 * x + 50 * y, 40 * x + 7 * y]) for x in range(PLANES_W))
        rows.append(row + b"\0" * (-len(row) % 4))
    data = b"".join(rows)
    offset = 14 + 40
    return file_header(offset + len(data), offset) + info_header(PLANES_W, PLANES_H, 24, 0, len(data), planes=2) + data


PALETTE = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]


def rle8(width, height, data):
    pal = b"".join(bytes([b, g, r, 0]) for (r, g, b) in PALETTE)
    offset = 14 + 40 + len(pal)
    return file_header(offset + len(data), offset) + info_header(width, height, 8, 1, len(data), len(PALETTE)) + pal + data


# Rows in file order: [4 x red], [2 x green, 2 x blue], [4 x yellow], end of bitmap.
RLE_ROWS = bytes([4, 0, 0, 0]) + bytes([2, 1, 2, 2, 0, 0]) + bytes([4, 3, 0, 1])


def rle8_topdown():
    return rle8(4, -3, RLE_ROWS)


def rle8_truncated():
    # 8 x 4 bottom-up: the first (bottom) row whole, the second cut after its first run (3 x green).
    data = bytes([8, 2, 0, 0]) + bytes([3, 1])
    return rle8(8, 4, data)


def bitfields_zero_alpha():
    # 3 x 2, BITMAPV4HEADER, 32-bit BI_BITFIELDS with an alpha mask, every alpha 0.
    width, height = 3, 2
    masks = struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)
    header = struct.pack("<IiiHHIIiiII", 108, width, height, 1, 32, 3, width * height * 4, 2835, 2835, 0, 0)
    header += masks + b"BGRs" + b"\0" * 36 + b"\0" * 12
    rows = []
    for y in reversed(range(height)):
        rows.append(b"".join(bytes([10 * x + 1, 60 * y + 2, 80 * x + 3, 0]) for x in range(width)))
    data = b"".join(rows)
    offset = 14 + len(header)
    return file_header(offset + len(data), offset) + header + data


# 4 x 2 RGBA, premultiplied (ExtraSamples = 1, associated alpha).
ASSOCIATED = [(200, 100, 50, 255), (100, 50, 25, 128), (50, 25, 12, 128), (0, 0, 0, 0),
              (64, 64, 64, 64), (16, 8, 4, 64), (7, 8, 9, 0), (40, 48, 56, 200)]


def tiff_associated():
    width, height = 4, 2
    pixels = b"".join(bytes(p) for p in ASSOCIATED)
    entries = []
    # Values that do not fit in 4 bytes go after the IFD.
    ifd_offset = 8
    n = 11
    extra_at = ifd_offset + 2 + n * 12 + 4
    bits = struct.pack("<HHHH", 8, 8, 8, 8)
    data_at = extra_at + len(bits)

    def entry(tag, typ, count, value):
        entries.append(struct.pack("<HHI", tag, typ, count) + value)

    short = lambda v: struct.pack("<HH", v, 0)
    long_ = lambda v: struct.pack("<I", v)
    entry(256, 3, 1, short(width))           # ImageWidth
    entry(257, 3, 1, short(height))          # ImageLength
    entry(258, 3, 4, long_(extra_at))        # BitsPerSample 8,8,8,8
    entry(259, 3, 1, short(1))               # Compression: none
    entry(262, 3, 1, short(2))               # Photometric: RGB
    entry(273, 4, 1, long_(data_at))         # StripOffsets
    entry(277, 3, 1, short(4))               # SamplesPerPixel
    entry(278, 3, 1, short(height))          # RowsPerStrip
    entry(279, 4, 1, long_(len(pixels)))     # StripByteCounts
    entry(284, 3, 1, short(1))               # PlanarConfiguration: chunky
    entry(338, 3, 1, short(1))               # ExtraSamples: associated alpha
    assert len(entries) == n
    ifd = struct.pack("<H", n) + b"".join(entries) + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", ifd_offset) + ifd + bits + pixels


def ycbcr(compression):
    # 16 x 8 with photometric YCbCr (6), made by Pillow (libtiff), which only it writes
    # here: LZW with chroma not subsampled, or JPEG (libjpeg subsamples the chroma).
    import io
    from PIL import Image
    im = Image.new("RGB", (16, 8))
    im.putdata([((x * 16) % 256, (y * 32) % 256, ((x + y) * 8) % 256) for y in range(8) for x in range(16)])
    out = io.BytesIO()
    im.convert("YCbCr").save(out, "TIFF", compression=compression)
    return out.getvalue()


def lzw(data):
    """TIFF's LZW (TIFF 6.0, section 13): MSB-first codes, a Clear code first, the code
    width growing one code early, the table cleared when full."""
    CLEAR, EOI = 256, 257
    out, acc, nbits = bytearray(), 0, 0
    width = 9

    def emit(code):
        nonlocal acc, nbits
        acc = (acc << width) | code
        nbits += width
        while nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)

    def reset():
        return {bytes([i]): i for i in range(256)}, 258

    table, next_code = reset()
    emit(CLEAR)
    prefix = b""
    for byte in data:
        grown = prefix + bytes([byte])
        if grown in table:
            prefix = grown
            continue
        emit(table[prefix])
        table[grown] = next_code
        next_code += 1
        prefix = bytes([byte])
        if next_code + 1 >= 1 << width and width < 12:
            width += 1
        if next_code >= 4094:
            emit(CLEAR)
            table, next_code = reset()
            width = 9
    if prefix:
        emit(table[prefix])
        if next_code + 1 >= 1 << width and width < 12:
            width += 1
    emit(EOI)
    if nbits:
        out.append((acc << (8 - nbits)) & 0xFF)
    return bytes(out)


def packbits(data):
    """PackBits with literal runs only (any decoder must read them)."""
    return b"".join(bytes([len(data[i:i + 128]) - 1]) + data[i:i + 128] for i in range(0, len(data), 128))


def ycbcr_subsampled(width, height, h, v, rows_per_strip, compression):
    """A YCbCr TIFF with `h x v` chroma subsampling in strips of `rows_per_strip` rows:
    each strip a run of data units (h x v luma samples, then Cb, Cr), the image's right
    and bottom edges padded to whole units. Luma and chroma follow simple ramps."""
    units_across = -(-width // h)
    strips = []
    for top in range(0, height, rows_per_strip):
        data = bytearray()
        for band in range(top, min(top + rows_per_strip, height), v):
            for u in range(units_across):
                for dy in range(v):
                    for dx in range(h):
                        x, y = u * h + dx, band + dy
                        data.append((x * 19 + y * 31) % 256 if x < width and y < height else 0)
                data.append((u * 37 + band // v * 11 + 60) % 256)
                data.append((u * 13 + band // v * 41 + 90) % 256)
        compress = {1: bytes, 5: lzw, 8: zlib.compress, 32773: packbits}[compression]
        strips.append(compress(bytes(data)))
    n = 12
    extra_at = 8 + 2 + n * 12 + 4
    extra = bytearray(struct.pack("<HHH", 8, 8, 8) + b"\0\0")
    counts_at = extra_at + len(extra)
    extra += struct.pack(f"<{len(strips)}I", *map(len, strips))
    offsets_at = extra_at + len(extra)
    data_at = offsets_at + 4 * len(strips)
    offsets = [data_at + sum(map(len, strips[:i])) for i in range(len(strips))]
    extra += struct.pack(f"<{len(strips)}I", *offsets)
    entries = []

    def entry(tag, typ, count, value):
        entries.append(struct.pack("<HHI", tag, typ, count) + value)

    short = lambda a, b=0: struct.pack("<HH", a, b)
    long_ = lambda v: struct.pack("<I", v)
    many = len(strips) > 1
    entry(256, 3, 1, short(width))                                          # ImageWidth
    entry(257, 3, 1, short(height))                                         # ImageLength
    entry(258, 3, 3, long_(extra_at))                                       # BitsPerSample 8,8,8
    entry(259, 3, 1, short(compression))                                    # Compression
    entry(262, 3, 1, short(6))                                              # Photometric: YCbCr
    entry(273, 4, len(strips), long_(offsets_at if many else offsets[0]))   # StripOffsets
    entry(277, 3, 1, short(3))                                              # SamplesPerPixel
    entry(278, 3, 1, short(rows_per_strip))                                 # RowsPerStrip
    entry(279, 4, len(strips), long_(counts_at if many else len(strips[0])))  # StripByteCounts
    entry(284, 3, 1, short(1))                                              # PlanarConfiguration
    entry(530, 3, 2, short(h, v))                                           # YCbCrSubsampling
    entry(531, 3, 1, short(1))                                              # YCbCrPositioning
    assert len(entries) == n
    ifd = struct.pack("<H", n) + b"".join(entries) + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 8) + ifd + bytes(extra) + b"".join(strips)


FILES = {
    "planes2.bmp": planes2,
    "rle8-topdown.bmp": rle8_topdown,
    "rle8-truncated.bmp": rle8_truncated,
    "bitfields-zero-alpha.bmp": bitfields_zero_alpha,
    "associated-alpha.tif": tiff_associated,
    "ycbcr-lzw.tif": lambda: ycbcr("tiff_lzw"),
    "ycbcr-jpeg.tif": lambda: ycbcr("jpeg"),
    # Odd sizes: the last data units of each row and of the image are cut.
    "ycbcr-22-deflate.tif": lambda: ycbcr_subsampled(13, 7, 2, 2, 4, 8),
    "ycbcr-22-none.tif": lambda: ycbcr_subsampled(13, 7, 2, 2, 4, 1),
    "ycbcr-21-packbits.tif": lambda: ycbcr_subsampled(9, 5, 2, 1, 3, 32773),
    "ycbcr-42-lzw.tif": lambda: ycbcr_subsampled(11, 6, 4, 2, 2, 5),
}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, make in FILES.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(make())
