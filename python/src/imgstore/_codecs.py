"""Record codecs: raw, lz4 (size-prefixed LZ4 block), jpeg (Pillow). FORMAT.md section 4.

A decoder takes the payload (a buffer: a memoryview into LMDB's map, valid only during the call) and
returns (fields, pixels) where fields is the checked record map without its pixel field and pixels a
uint8 numpy array of `fields["shape"]` (H×W×C; C×H×W, C-contiguous, when `chw`) that owns its memory
(never a view into the map). `out` (an array of that shape) may be where the pixels are written, and
returned; decoders that do not use it return their own array (the caller copies it into `out`).
"""
import io
import struct

import numpy as np

from ._header import unpack_plain
from ._planar import to_chw

DATA_KEY = b"\xa4data"
JPEG_HINT = "The jpeg codec needs Pillow: pip install Pillow (or the extra imgstore[jpeg]; Debian: python3-pil)"


class DecodeFailed(Exception):
    """A record that passed its checksum but is not a valid record; the caller adds store, index and key."""


def check_fields(value, field):
    """The record checks of packages/codec/src/record-msgpack.ts (checkRecordFields)."""
    if not isinstance(value, dict):
        raise DecodeFailed("expected a msgpack map")
    name, label, shape = value.get("name"), value.get("label"), value.get("shape")
    if type(name) is not str:
        raise DecodeFailed('field "name" is not a string')
    if label is not None and not (type(label) is int and label >= 0):
        raise DecodeFailed('field "label" is neither null nor a non-negative integer')
    if not (isinstance(shape, list) and len(shape) == 3 and all(type(n) is int and n > 0 for n in shape)):
        raise DecodeFailed('field "shape" is not three positive integers')
    if value.get("dtype") != "uint8":
        raise DecodeFailed(f'field "dtype" is {value.get("dtype")!r}, expected "uint8"')
    if field is not None and not isinstance(value.get(field), (bytes, bytearray)):
        raise DecodeFailed(f'field "{field}" is not binary')
    labels = value.get("labels")  # format 1.1, multi-label stores
    if labels is not None:
        if not (isinstance(labels, list) and all(type(n) is int and n >= 0 for n in labels)):
            raise DecodeFailed('field "labels" is not an array of non-negative integers')
        if label is not None:
            raise DecodeFailed('fields "label" and "labels" are both set')
    return value


def _unpack(buf):
    try:
        return unpack_plain(buf)
    except Exception as error:
        raise DecodeFailed(f"malformed msgpack ({error})") from None


def _split_head(buf, pixel_bytes):
    """When the record ends with "data" holding `pixel_bytes` bytes (as every imgstore writer lays it out),
    returns the offset of the pixels, else None. The head before them is then decoded alone."""
    n = len(buf) - pixel_bytes
    if n < 7:
        return None
    if buf[n - 5] == 0xC6 and struct.unpack_from(">I", buf, n - 4)[0] == pixel_bytes:
        k = 4
    elif buf[n - 3] == 0xC5 and struct.unpack_from(">H", buf, n - 2)[0] == pixel_bytes:
        k = 2
    elif buf[n - 2] == 0xC4 and buf[n - 1] == pixel_bytes:
        k = 1
    else:
        return None
    key = n - 1 - k - len(DATA_KEY)
    if key < 1 or bytes(buf[key:key + len(DATA_KEY)]) != DATA_KEY:
        return None
    return n, k


def decode_plain(buf, limit, fixed_pixels, writable_source, chw=False, out=None):
    """A msgpack record with pixels under "data". `fixed_pixels` is the header's sample size (None when
    variable). The pixels are copied out of `buf` once (transposed to C×H×W in that copy when `chw`),
    into `out` when given and of the record's shape (a slot of a batch), unless `writable_source` (a
    buffer this call owns, e.g. LZ4's output), over which the array may be a zero-copy view."""
    if fixed_pixels is not None:
        split = _split_head(buf, fixed_pixels)
        if split is not None:
            n, k = split
            head = bytearray(buf[:n])
            head[n - k:] = bytes(k)  # the same map with an empty "data": checks the other fields
            fields = check_fields(_unpack(head), "data")
            shape = fields["shape"]
            if shape[0] * shape[1] * shape[2] != fixed_pixels:
                raise DecodeFailed(f'field "data" has {fixed_pixels} bytes but shape {shape} needs '
                                   f"{shape[0] * shape[1] * shape[2]}")
            pixels = np.frombuffer(buf, np.uint8, fixed_pixels, n).reshape(shape)
            del fields["data"]
            if out is not None and out.shape == ((shape[2], shape[0], shape[1]) if chw else tuple(shape)):
                if chw:
                    return fields, to_chw(pixels, out=out)
                np.copyto(out, pixels)
                return fields, out
            if chw:  # one copy at most, de-interleaved on the way
                return fields, to_chw(pixels, writable_source)
            # Over the map: always a copy (np.array copies).
            return fields, pixels if writable_source else np.array(pixels)
    fields = check_fields(_unpack(buf), "data")
    data, shape = fields.pop("data"), fields["shape"]
    need = shape[0] * shape[1] * shape[2]
    if len(data) != need:
        raise DecodeFailed(f'field "data" has {len(data)} bytes but shape {shape} needs {need}')
    pixels = np.frombuffer(bytearray(data), np.uint8).reshape(shape)
    return fields, to_chw(pixels, True) if chw else pixels


def decode_raw(payload, limit, fixed_pixels, chw=False, out=None):
    if len(payload) > limit:
        raise DecodeFailed(f"record of {len(payload)} bytes, more than a record may hold ({limit})")
    return decode_plain(payload, limit, fixed_pixels, False, chw, out)


def decode_lz4(payload, limit, fixed_pixels, chw=False, out=None):
    import lz4.block

    if len(payload) < 5:
        raise DecodeFailed(f"{len(payload)} bytes is too short for an LZ4 block")
    declared = struct.unpack_from("<I", payload, 0)[0]
    most = min(limit, 1 << 30)
    if declared > most:
        raise DecodeFailed(f"LZ4 block claims {declared} bytes, more than a record may hold ({most})")
    try:
        plain = lz4.block.decompress(payload, return_bytearray=True)
    except Exception as error:
        raise DecodeFailed(f"invalid LZ4 block ({error})") from None
    if len(plain) != declared:
        raise DecodeFailed(f"LZ4 block decoded to {len(plain)} bytes, not the {declared} it declares")
    return decode_plain(plain, limit, fixed_pixels, True, chw)


def decode_jpeg(payload, limit, fixed_pixels, chw=False, out=None):
    from PIL import Image

    if len(payload) > limit:
        raise DecodeFailed(f"record of {len(payload)} bytes, more than a record may hold ({limit})")
    fields = check_fields(_unpack(payload), "jpeg")
    jpeg, shape = fields.pop("jpeg"), fields["shape"]
    if shape[2] not in (1, 3):
        raise DecodeFailed(f"a JPEG holds 1 or 3 channels, the record's shape says {shape}")
    try:
        with Image.open(io.BytesIO(jpeg)) as image:
            if image.format != "JPEG":
                raise DecodeFailed(f"field \"jpeg\" is {image.format}, not a JPEG")
            if image.size != (shape[1], shape[0]):
                raise DecodeFailed(f"JPEG is {image.size[0]}x{image.size[1]}, the record's shape says {shape}")
            mode = "L" if shape[2] == 1 else "RGB"
            if image.mode != mode:
                image = image.convert(mode)
            pixels = np.array(image, dtype=np.uint8)  # owned and writable
    except DecodeFailed:
        raise
    except Exception as error:
        raise DecodeFailed(f"JPEG does not decode ({error})") from None
    pixels = pixels.reshape(shape)
    return fields, to_chw(pixels, True) if chw else pixels


BUILTIN = {"raw": decode_raw, "lz4": decode_lz4, "jpeg": decode_jpeg}


def resolve(codec_id):
    from .errors import UnknownCodecError

    if codec_id == "jpeg":
        try:
            import PIL.Image  # noqa: F401
        except ImportError:
            raise UnknownCodecError("jpeg", ["lz4", "raw"], JPEG_HINT) from None
    if codec_id not in BUILTIN:
        raise UnknownCodecError(codec_id, sorted(BUILTIN),
                                "Stores written with a user-defined codec need that codec's own reader")
    return BUILTIN[codec_id]
