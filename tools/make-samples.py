#!/usr/bin/python3
"""Build samples/images (the bundled demo and test photos) and samples/LICENSES.md, deterministically.

Sources are photographs shipped in Debian 12 packages, cropped and resized; the formats vary on purpose
(JPEG, PNG with and without alpha, WebP, grayscale, EXIF orientation 6). Run from the repository root:

    apt-get install lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 plasma-workspace-wallpapers python3-pil
    /usr/bin/python3 tools/make-samples.py
"""
import os
import shutil

from PIL import Image

KDE = "/usr/share/wallpapers/{}/contents/images/2560x1600.jpg"
BG = "/usr/share/backgrounds/{}"
# plasma-workspace-wallpapers: debian/copyright gives one blanket "KDE Visual Design Group, GPL-2+" for all
# files; each wallpaper's metadata.json names the photographer and "LGPLv3". Both are recorded.
KDE_LICENCE = "GPL-2+ (Debian copyright file); LGPL-3 (upstream metadata.json)"
# name: (package, path, author, licence)
SOURCES = {
    "kleiber": ("lomiri-wallpapers-20.04", BG.format("Kleiber_by_Lukas_Baubkus.jpg"), "Lukas Baubkus", "CC-BY-SA-3.0"),
    "friends": ("lomiri-wallpapers-16.04", BG.format("friends_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0"),
    "dragonfly": ("lomiri-wallpapers-16.04", BG.format("Dragonfly_by_Bolly.jpg"), '"Bolly"', "CC-BY-SA-4.0"),
    "aitzgorri": ("lomiri-wallpapers-16.04", BG.format("aitzgorri_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0"),
    "picos": ("lomiri-wallpapers-16.04", BG.format("picosdeeuropa_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0"),
    "sunset": ("lomiri-wallpapers-16.04", BG.format("sunset_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0"),
    "path": ("plasma-workspace-wallpapers", KDE.format("Path"), "Risto Saukonpää", KDE_LICENCE),
    "picture0b": ("lomiri-wallpapers-16.04", BG.format("Picture_0B_by_freespace.jpg"), 'Trevor "Freespace"', "CC-BY-4.0"),
    "picture1a": ("lomiri-wallpapers-16.04", BG.format("Picture_1A_by_freespace.jpg"), 'Trevor "Freespace"', "CC-BY-4.0"),
    "wine": ("lomiri-wallpapers-16.04", BG.format("Wine_by_Jakkub_Mede.jpg"), "Jakub Mede", "CC-BY-4.0"),
    "cups": ("plasma-workspace-wallpapers", KDE.format("ColorfulCups"), "Dmitri Popov", KDE_LICENCE),
    "bridge": ("lomiri-wallpapers-16.04", BG.format("Bridge_by_Sander_Klootwijk.jpg"), "Sander Klootwijk", "CC-BY-SA-4.0"),
    "kite": ("plasma-workspace-wallpapers", KDE.format("Kite"), "Risto Saukonpää", KDE_LICENCE),
    "summer": ("plasma-workspace-wallpapers", KDE.format("summer_1am"), "Risto Saukonpää", KDE_LICENCE),
    "evening": ("plasma-workspace-wallpapers", KDE.format("EveningGlow"), "Ian Hex", KDE_LICENCE),
}
# (class, output name, source, crop box as fractions (left, top, right, bottom), longer side, kind)
SAMPLES = [
    ("animals", "kleiber-1.jpg", "kleiber", (0.20, 0.10, 0.80, 0.90), 480, "jpeg"),
    ("animals", "kleiber-2.jpg", "kleiber", (0.35, 0.25, 0.65, 0.75), 320, "jpeg"),
    ("animals", "friends-1.jpg", "friends", (0.00, 0.00, 1.00, 1.00), 640, "jpeg"),
    ("animals", "friends-2-gray.jpg", "friends", (0.25, 0.20, 0.75, 0.90), 400, "gray"),
    ("animals", "dragonfly-1.jpg", "dragonfly", (0.10, 0.10, 0.90, 0.90), 560, "jpeg"),
    ("animals", "dragonfly-2.webp", "dragonfly", (0.30, 0.20, 0.70, 0.80), 360, "webp"),
    ("animals", "dragonfly-3-exif-orientation-6.jpg", "dragonfly", (0.40, 0.00, 0.90, 1.00), 420, "exif6"),
    ("landscapes", "aitzgorri-1.jpg", "aitzgorri", (0.00, 0.00, 1.00, 1.00), 640, "jpeg"),
    ("landscapes", "aitzgorri-2.jpg", "aitzgorri", (0.50, 0.30, 1.00, 1.00), 380, "jpeg"),
    ("landscapes", "picos-1.jpg", "picos", (0.00, 0.10, 0.70, 0.90), 600, "jpeg"),
    ("landscapes", "picos-2.png", "picos", (0.40, 0.40, 0.80, 0.80), 300, "png"),
    ("landscapes", "sunset-1.jpg", "sunset", (0.00, 0.00, 1.00, 0.80), 640, "jpeg"),
    ("landscapes", "sunset-2.jpg", "sunset", (0.20, 0.00, 0.50, 1.00), 460, "jpeg"),
    ("landscapes", "path-1.jpg", "path", (0.10, 0.00, 0.90, 1.00), 520, "jpeg"),
    ("objects", "picture0b-1.jpg", "picture0b", (0.00, 0.00, 1.00, 1.00), 640, "jpeg"),
    ("objects", "picture0b-2.jpg", "picture0b", (0.30, 0.30, 0.70, 0.70), 256, "jpeg"),
    ("objects", "picture1a-1.jpg", "picture1a", (0.10, 0.00, 0.80, 1.00), 500, "jpeg"),
    ("objects", "wine-1.jpg", "wine", (0.00, 0.00, 1.00, 1.00), 600, "jpeg"),
    ("objects", "wine-2.jpg", "wine", (0.35, 0.10, 0.65, 0.90), 440, "jpeg"),
    ("objects", "cups-1.jpg", "cups", (0.00, 0.00, 1.00, 1.00), 640, "jpeg"),
    ("objects", "cups-2-rgba.png", "cups", (0.25, 0.20, 0.75, 0.80), 320, "rgba"),
    ("sky", "bridge-1.jpg", "bridge", (0.00, 0.00, 1.00, 1.00), 640, "jpeg"),
    ("sky", "bridge-2.jpg", "bridge", (0.00, 0.00, 0.50, 0.60), 400, "jpeg"),
    ("sky", "kite-1.jpg", "kite", (0.00, 0.00, 1.00, 1.00), 600, "jpeg"),
    ("sky", "kite-2.jpg", "kite", (0.45, 0.15, 0.75, 0.65), 300, "jpeg"),
    ("sky", "summer-1am-1.jpg", "summer", (0.00, 0.00, 1.00, 0.68), 640, "jpeg"),
    ("sky", "summer-1am-2.jpg", "summer", (0.70, 0.15, 0.95, 0.72), 420, "jpeg"),
    ("sky", "evening-glow-1-square.jpg", "evening", (0.50, 0.00, 0.80, 0.48), 320, "jpeg"),
    ("sky", "evening-glow-2.jpg", "evening", (0.00, 0.00, 0.55, 0.33), 480, "jpeg"),
]
KIND_NOTE = {
    "jpeg": "JPEG q85",
    "gray": "grayscale JPEG q85",
    "webp": "WebP q80",
    "png": "PNG (RGB)",
    "rgba": "PNG with an alpha gradient (RGBA)",
    "exif6": "JPEG q85, pixels stored rotated 90° counter-clockwise with EXIF Orientation 6 (displays upright at the size given)",
}


def crop(image, box, longer):
    w, h = image.size
    region = image.crop((round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))
    scale = longer / max(region.size)
    return region.resize((max(1, round(region.width * scale)), max(1, round(region.height * scale))), Image.LANCZOS)


def save(image, path, kind):
    if kind == "jpeg":
        image.save(path, "JPEG", quality=85)
    elif kind == "gray":
        image.convert("L").save(path, "JPEG", quality=85)
    elif kind == "webp":
        image.save(path, "WEBP", quality=80, method=4)
    elif kind == "png":
        image.save(path, "PNG", optimize=True)
    elif kind == "rgba":
        alpha = Image.linear_gradient("L").resize(image.size)
        rgba = image.convert("RGBA")
        rgba.putalpha(alpha)
        rgba.save(path, "PNG", optimize=True)
    elif kind == "exif6":
        exif = Image.Exif()
        exif[0x0112] = 6  # display = stored pixels rotated 90 degrees clockwise
        image.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", quality=85, exif=exif)
    else:
        raise ValueError(kind)


LICENSES_HEAD = """# Sample images: sources and licences

Every file in `samples/images` is derived from a real photograph shipped in a Debian 12 package (cropped, resized
and re-encoded); each file keeps the licence of the photograph it comes from.

Made with: `/usr/bin/python3 tools/make-samples.py` (run from the repository root; it rewrites `samples/images` and
this file, byte for byte the same with the same Pillow). Needs the Debian packages lomiri-wallpapers-16.04,
lomiri-wallpapers-20.04, plasma-workspace-wallpapers and python3-pil.

| file | Debian package | source file in the package | author | licence | what was done |
| --- | --- | --- | --- | --- | --- |
"""
LICENSES_TAIL = """
## Licences

- **CC-BY-4.0**, **CC-BY-SA-3.0**, **CC-BY-SA-4.0**: as stated per file in `/usr/share/doc/lomiri-wallpapers-16.04/copyright`
  and `/usr/share/doc/lomiri-wallpapers-20.04/copyright`. Attribution is the author column above; the changes are
  the last column. Files derived from a CC-BY-SA photograph are shared under the same CC-BY-SA version.
- **plasma-workspace-wallpapers**: Debian's `/usr/share/doc/plasma-workspace-wallpapers/copyright` covers every file
  with "Copyright: 2014 KDE Visual Design Group, License: GPL-2+"; the wallpaper's own
  `/usr/share/wallpapers/<Name>/metadata.json` names the photographer (the author column) and gives "LGPLv3". Both
  licences allow redistribution of modified copies.
"""


def main():
    out = os.path.join("samples", "images")
    shutil.rmtree(out, ignore_errors=True)
    opened = {name: Image.open(src[1]).convert("RGB") for name, src in SOURCES.items()}
    rows = []
    for cls, name, source, box, longer, kind in SAMPLES:
        os.makedirs(os.path.join(out, cls), exist_ok=True)
        image = crop(opened[source], box, longer)
        save(image, os.path.join(out, cls, name), kind)
        package, path, author, licence = SOURCES[source]
        w, h = image.size
        rows.append(f"| {cls}/{name} | {package} | {path} | {author} | {licence} | "
                    f"crop {box[0]:.2f},{box[1]:.2f}-{box[2]:.2f},{box[3]:.2f} of the source (fractions of width, height); "
                    f"resized to {w}x{h}; {KIND_NOTE[kind]} |")
    with open(os.path.join("samples", "LICENSES.md"), "w") as f:
        f.write(LICENSES_HEAD)
        f.write("\n".join(rows) + "\n")
        f.write(LICENSES_TAIL)
    print(f"{len(rows)} images in {out}")


if __name__ == "__main__":
    main()
