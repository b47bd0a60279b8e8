"""Makes the small sample files of tests/data with Pillow, an encoder independent of
kiln's. Run once by hand (`python3 make_data.py`); the outputs are committed, so tests
never need Pillow. Deterministic: a fixed seed and no clocks."""
import gzip, io, json, math, random, struct
from PIL import Image, ImageDraw

random.seed(7)
W, H = 320, 240

def photo():
    img = Image.new("RGB", (W, H))
    px = img.load()
    for y in range(H):
        for x in range(W):
            r = int(128 + 100 * math.sin(x / 23.0) * math.cos(y / 31.0))
            g = int(90 + 80 * math.sin((x + y) / 40.0))
            b = int(200 * y / H)
            n = random.randint(-12, 12)
            px[x, y] = (max(0, min(255, r + n)), max(0, min(255, g + n)), max(0, min(255, b + n)))
    d = ImageDraw.Draw(img)
    d.ellipse((40, 30, 150, 140), fill=(240, 200, 40))
    d.rectangle((190, 120, 290, 210), fill=(30, 160, 90))
    d.line((0, 239, 319, 0), fill=(255, 255, 255), width=3)
    return img

p = photo()
p.save("photo.jpg", quality=85)
p.save("photo.png")
small = p.resize((80, 60))
small.save("small.bmp")
small.save("small.tiff", compression="tiff_lzw")
small.save("small.webp", lossless=True)
p.save("photo-lossy.webp", quality=80)

# RGBA with transparency: a red disc on a transparent background.
rgba = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
ImageDraw.Draw(rgba).ellipse((8, 4, 56, 44), fill=(220, 20, 20, 255))
rgba.save("disc.png")

# Grey, palette and 16-bit PNGs.
p.convert("L").resize((80, 60)).save("gray.png")
p.resize((80, 60)).convert("P", palette=Image.ADAPTIVE, colors=16).save("palette.png")
Image.new("I;16", (16, 16), 40000).save("deep16.png")

# An animated GIF: the first frame is red, the second blue.
frames = [Image.new("RGB", (20, 10), c) for c in [(255, 0, 0), (0, 0, 255)]]
frames[0].save("anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)

# A JPEG whose EXIF says "rotate 90 CW to display" (orientation 6): stored 40x20,
# left half black, right half white; displayed it is 20x40, top black, bottom white.
o = Image.new("RGB", (40, 20), (0, 0, 0))
ImageDraw.Draw(o).rectangle((20, 0, 39, 19), fill=(255, 255, 255))
exif = Image.Exif()
exif[0x0112] = 6
o.save("oriented6.jpg", quality=95, exif=exif.tobytes())

# Tables.
rows = [
    ["id", "name", "age", "score", "member", "note"],
    ["1", "Ada", "36", "91.5", "true", ""],
    ["2", "Grace", "45", "88", "false", "says \"hi\""],
    ["3", "Linus", "", "79.25", "TRUE", "multi\nline"],
    ["4", "Zoë", "28", "-3e2", "false", "a, b"],
    ["5", "007", "51", "100", "", "leading zero"],
]
def cell(v):
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n') else v
with open("people.csv", "w", newline="") as f:
    f.write("\n".join(",".join(cell(v) for v in r) for r in rows) + "\n")

with open("people.ndjson", "w") as f:
    for r in [{"id": 1, "name": "Ada", "tags": ["x", "y"], "ok": True},
              {"id": 2, "name": "Grace", "ok": False, "extra": None},
              {"id": 3, "name": "Linus", "tags": {"k": 1}}]:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")

# Mixed text and its gzip made by Python's gzip module (mtime 0).
text = "".join(f"{i}\tthe quick brown fox {i * 7919 % 1000} jumps over\n" for i in range(2000)).encode()
with open("lines.txt", "wb") as f:
    f.write(text)
with open("lines.txt.gz", "wb") as f:
    f.write(gzip.compress(text, compresslevel=9, mtime=0))

# A gzip bomb: 64 MiB of zeros in ~64 KiB (hostile-input cases and the load test).
with open("zeros64m.gz", "wb") as f:
    f.write(gzip.compress(bytes(64 << 20), compresslevel=9, mtime=0))

# Lossy WebPs at 640x480 for the memory model's test (kernel/tests/memory.rs): one with
# a lossless-compressed alpha plane, one animated (two frames, the second translucent).
big = p.resize((640, 480)).convert("RGBA")
big.putalpha(Image.linear_gradient("L").resize((640, 480)))
big.save("alpha-lossy.webp", quality=80)
# The animation's alpha is flat: libwebp's animation encoder compresses a gradient poorly.
frame = p.resize((640, 480)).convert("RGBA")
frame.putalpha(200)
second = frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
frame.save("anim-lossy.webp", save_all=True, append_images=[second], duration=100, lossless=False, quality=80)

# Every alpha level: a corner of the photo, alpha (4x + 5y) mod 256 (flatten, JPEG of a
# translucent image).
alpha = p.crop((100, 60, 164, 108)).convert("RGBA")
alpha.putalpha(Image.frombytes("L", (64, 48), bytes((x * 4 + y * 5) % 256 for y in range(48) for x in range(64))))
alpha.save("alpha.png")
