"""Makes the sample files of `info`'s cases with Pillow (independent of kiln): each
carries what `info` reports (EXIF camera, date, GPS and orientation; ICC profiles;
progressive / interlaced; frames). Run once by hand in the Pillow venv
(`target/pillow-venv/bin/python tests/data/info/make_info.py`); the outputs are
committed. tests/pillow/info.py checks kiln's answers against Pillow's reading."""
import os, struct, zlib
from PIL import Image, ImageCms, ImageDraw

os.chdir(os.path.dirname(os.path.abspath(__file__)))


def picture(w, h, mode="RGB"):
    img = Image.new("RGB", (w, h), (40, 90, 160))
    d = ImageDraw.Draw(img)
    d.ellipse((w // 8, h // 8, w * 5 // 8, h * 7 // 8), fill=(240, 200, 40))
    d.rectangle((w // 2, h // 3, w - 3, h - 3), fill=(30, 160, 90))
    return img.convert(mode)


def exif(orientation=None, gps=True):
    e = Image.Exif()
    e[0x010F] = "KilnCam"  # Make
    e[0x0110] = "K-1 Mark II"  # Model
    if orientation:
        e[0x0112] = orientation
    e.get_ifd(0x8769)[0x9003] = "2026:11:28 06:30:00"  # DateTimeOriginal
    if gps:
        e.get_ifd(0x8825)[1] = "N"  # GPSLatitudeRef
        e.get_ifd(0x8825)[2] = (52.0, 30.0, 0.0)  # GPSLatitude
    return e


srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

# A progressive JPEG from a phone: EXIF with GPS, turned (orientation 6), ICC profile.
picture(48, 32).save("phone.jpg", quality=80, progressive=True, exif=exif(6), icc_profile=srgb)
# A CMYK JPEG (Adobe APP14), baseline, no metadata.
picture(24, 16, "CMYK").save("cmyk.jpg", quality=90)
# A grey JPEG.
picture(20, 10, "L").save("gray.jpg", quality=90)
# A palette PNG with transparency (tRNS), EXIF without GPS, orientation 8.
pal = picture(30, 20).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
pal.save("palette.png", transparency=0, exif=exif(8, gps=False), icc_profile=srgb)


def adam7_png(img):
    """An 8-bit grey PNG interlaced with Adam7 (Pillow writes none): each pass's rows,
    filter 0, in one zlib stream."""
    w, h = img.size
    px = img.load()
    raw = bytearray()
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        cols = range(x0, w, dx)
        if not cols:
            continue
        for y in range(y0, h, dy):
            raw += b"\0" + bytes(px[x, y] for x in cols)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


with open("interlaced.png", "wb") as f:
    f.write(adam7_png(picture(13, 9, "L")))
# An animated PNG (APNG), 3 frames, RGBA.
frames = [picture(16, 12, "RGBA").rotate(90 * i) for i in range(3)]
frames[0].save("anim.png", save_all=True, append_images=frames[1:], duration=100)
# An animated WebP (VP8X with animation, EXIF, ICC), 3 frames.
frames[0].save("anim.webp", save_all=True, append_images=frames[1:], duration=100, lossless=True,
               exif=exif(3), icc_profile=srgb)
# An interlaced GIF, 2 frames, with transparency.
g = [picture(24, 20).rotate(180 * i).convert("P", palette=Image.Palette.ADAPTIVE, colors=8) for i in range(2)]
g[0].save("interlaced.gif", save_all=True, append_images=g[1:], interlace=False, transparency=1, duration=50)
# Pillow writes no interlaced frame this small: set the first frame's interlace flag
# (the rows then show in interlaced order; still a valid GIF).
with open("interlaced.gif", "r+b") as f:
    data = bytearray(f.read())
    at = data.index(b"\x2c\x00\x00\x00\x00")
    data[at + 9] |= 0x40
    f.seek(0)
    f.write(data)
# A 16-bit grey TIFF with camera tags in IFD0.
t = picture(12, 8, "L").convert("I;16")
t.save("camera.tiff", exif=exif(gps=False))
