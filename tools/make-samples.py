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
# name: (package, path, author, licence)
SOURCES = {
    "kleiber": ("lomiri-wallpapers-20.04", BG.format("Kleiber_by_Lukas_Baubkus.jpg"), "Lukas Baubkus", "CC-BY-SA-3.0"),
    "friends": ("lomiri-wallpapers-16.04", BG.format("friends_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0"),
    "dragonfly": ("lomiri-wallpapers-16.04", BG.format("Dragonfly_by_Bolly.jpg"), "Bolly", "CC-BY-SA-4.0"),
    "aitzgorri": ("lomiri-wallpapers-16.04", BG.format("aitzgorri_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0"),
    "picos": ("lomiri-wallpapers-16.04", BG.format("picosdeeuropa_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0"),
    "sunset": ("lomiri-wallpapers-16.04", BG.format("sunset_by_Aitzol_Berasategi.jpg"), "Aitzol Berasategi", "CC-BY-4.0"),
    "path": ("plasma-workspace-wallpapers", KDE.format("Path"), "KDE Visual Design Group", "GPL-2+"),
    "picture0b": ("lomiri-wallpapers-16.04", BG.format("Picture_0B_by_freespace.jpg"), 'Trevor "Freespace"', "CC-BY-4.0"),
    "picture1a": ("lomiri-wallpapers-16.04", BG.format("Picture_1A_by_freespace.jpg"), 'Trevor "Freespace"', "CC-BY-4.0"),
    "wine": ("lomiri-wallpapers-16.04", BG.format("Wine_by_Jakkub_Mede.jpg"), "Jakub Mede", "CC-BY-4.0"),
    "cups": ("plasma-workspace-wallpapers", KDE.format("ColorfulCups"), "KDE Visual Design Group", "GPL-2+"),
    "bridge": ("lomiri-wallpapers-16.04", BG.format("Bridge_by_Sander_Klootwijk.jpg"), "Sander Klootwijk", "CC-BY-SA-4.0"),
    "kite": ("plasma-workspace-wallpapers", KDE.format("Kite"), "KDE Visual Design Group", "GPL-2+"),
    "grey": ("plasma-workspace-wallpapers", KDE.format("Grey"), "KDE Visual Design Group", "GPL-2+"),
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
    ("sky", "grey-1.jpg", "grey", (0.00, 0.00, 1.00, 1.00), 560, "jpeg"),
    ("sky", "grey-2.jpg", "grey", (0.20, 0.10, 0.60, 0.50), 360, "jpeg"),
    ("sky", "grey-3-square.jpg", "grey", (0.40, 0.20, 0.4 + 0.6 * 1600 / 2560, 0.80), 320, "jpeg"),
]
KIND_NOTE = {
    "jpeg": "JPEG q85",
    "gray": "grayscale JPEG q85",
    "webp": "WebP q80",
    "png": "PNG (RGB)",
    "rgba": "PNG with an alpha gradient (RGBA)",
    "exif6": "JPEG q85 stored rotated, EXIF Orientation 6 (displays upright)",
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
        rows.append(f"| {cls}/{name} | {package} | {path} | {author} | {licence} | "
                    f"crop {box[0]:.2f},{box[1]:.2f}-{box[2]:.2f},{box[3]:.2f}; longer side {longer} px; {KIND_NOTE[kind]} |")
    with open(os.path.join("samples", "LICENSES.md"), "w") as f:
        f.write("# Sample images: sources and licences\n\n")
        f.write("Every file in `samples/images` is derived from a photograph shipped in a Debian 12 package, "
                "cropped and resized by `tools/make-samples.py` (run it from the repository root to rebuild them "
                "byte for byte with the same Pillow). Each keeps its source's licence; the package's "
                "`/usr/share/doc/<package>/copyright` file has the full text.\n\n")
        f.write("| file | Debian package | source file | author | licence | what was done |\n")
        f.write("| --- | --- | --- | --- | --- | --- |\n")
        f.write("\n".join(rows) + "\n")
    print(f"{len(rows)} images in {out}")


if __name__ == "__main__":
    main()
