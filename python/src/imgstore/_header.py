"""Header parsing and checks: packages/store/src/store-header.ts and check-header.ts, in Python."""
import json

import msgpack

from .errors import StoreFormatError

FORMAT_NAME = "imgstore"
FORMAT_VERSION = 1
MAX_RECORDS = 0xFFFFFFFF
MAX_SAMPLE_SIDE = 65535
MAX_CHANNELS = 4
MAX_SAMPLE_BYTES = 2**30
RECORD_OVERHEAD_BYTES = 64 * 1024
_FORBIDDEN_KEYS = ("__proto__", "__proto_")


def unpack_plain(data):
    """msgpack as the TypeScript reader accepts it: str keys, no extensions, no `__proto__` key."""

    def hook(pairs):
        out = {}
        for key, value in pairs:
            if key in _FORBIDDEN_KEYS:
                raise ValueError('forbidden key "__proto__"')
            out[key] = value
        return out

    return msgpack.unpackb(data, raw=False, object_pairs_hook=hook, strict_map_key=False,
                           ext_hook=_refuse_ext)


def _refuse_ext(code, data):
    raise ValueError(f"msgpack extension type {code} is not part of the format")


def describe(value, missing=False):
    """A header value for an error message: short, whatever its type."""
    if missing:
        return "nothing (the field is missing)"
    if isinstance(value, (bytes, bytearray)):
        text = f"{len(value)} bytes of binary"
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            text = repr(value)
    kind = "null" if value is None else "array" if isinstance(value, list) else type(value).__name__
    return f"{text[:57] + '...' if len(text) > 60 else text} ({kind})"


def is_int(value, low, high):
    return type(value) is int and low <= value <= high


def parse_header_map(path, data):
    """Decodes the header; `format` and `version` are checked first, whatever else is wrong."""
    try:
        value = unpack_plain(data)
    except Exception:
        raise StoreFormatError(path, "not-a-store", f"Store {path} has an unreadable header (not msgpack)") from None
    if not isinstance(value, dict) or value.get("format") != FORMAT_NAME:
        raise StoreFormatError(path, "not-a-store", f"{path} is an LMDB environment but not an imgstore store")
    version = value.get("version")
    if type(version) is int and version > FORMAT_VERSION:
        raise StoreFormatError(path, "version",
                               f"Store {path} has format version {version}; this reader reads {FORMAT_VERSION}")
    return value


def check_header_fields(path, h):
    """Every field a reader uses, checked for type and range before anything is sized from it."""

    def bad(field, expected):
        return StoreFormatError(path, "damaged", f'Store {path} has a malformed header: field "{field}" must be '
                                f"{expected}, found {describe(h.get(field), field not in h)}")

    if not is_int(h.get("version"), 1, 2**53):
        raise bad("version", "a positive integer")
    codec = h.get("codec")
    if type(codec) is not str or not 0 < len(codec) <= 256:
        raise bad("codec", "a codec id (a non-empty string)")
    if not is_int(h.get("count"), 0, MAX_RECORDS):
        raise bad("count", f"an integer from 0 to {MAX_RECORDS}")
    shape = h.get("shape")
    sides = (f"[height, width, channels] with sides from 1 to {MAX_SAMPLE_SIDE} (or both 0: variable size) "
             f"and 1 to {MAX_CHANNELS} channels")
    if not (isinstance(shape, list) and len(shape) == 3 and is_int(shape[0], 0, MAX_SAMPLE_SIDE)
            and is_int(shape[1], 0, MAX_SAMPLE_SIDE)):
        raise bad("shape", sides)
    if not is_int(shape[2], 1, MAX_CHANNELS) or (shape[0] == 0) != (shape[1] == 0):
        raise bad("shape", sides)
    variable = shape[0] == 0
    if shape[0] * shape[1] * shape[2] > MAX_SAMPLE_BYTES:
        raise bad("shape", f"a sample of at most {MAX_SAMPLE_BYTES} bytes (1 GiB), [height, width, channels]")
    if variable:
        if not is_int(h.get("maxSampleBytes"), shape[2], MAX_SAMPLE_BYTES):
            raise bad("maxSampleBytes", f"an integer from {shape[2]} to {MAX_SAMPLE_BYTES} (1 GiB) in a variable-size store")
    elif "maxSampleBytes" in h:
        raise bad("maxSampleBytes", "absent in a fixed-shape store")
    # Format 1.1 fields (FORMAT.md section 7): a reader decides how to read labels from multiLabel.
    if "minorVersion" in h and not is_int(h["minorVersion"], 0, 2**53):
        raise bad("minorVersion", "absent, or an integer of at least 0")
    if "multiLabel" in h and type(h["multiLabel"]) is not bool:
        raise bad("multiLabel", "absent, or a boolean")
    if h.get("dtype") != "uint8":
        raise bad("dtype", '"uint8"')
    if h.get("layout") != "HWC":
        raise bad("layout", '"HWC"')
    if h.get("colorSpace") != "srgb":
        raise bad("colorSpace", '"srgb"')
    names = h.get("labelNames", "missing")
    if names is not None and not (isinstance(names, list) and all(type(n) is str for n in names)):
        raise bad("labelNames", "an array of strings, or nil")
    if not is_int(h.get("rejected"), 0, MAX_RECORDS):
        raise bad("rejected", f"an integer from 0 to {MAX_RECORDS}")
    counts = h.get("labelCounts", None) if "labelCounts" in h else ...
    if counts is not ... and not (isinstance(counts, list) and names is not None and len(counts) == len(names)
                                  and all(is_int(n, 0, MAX_RECORDS) for n in counts)):
        raise bad("labelCounts", f"absent, or an array of {len(names) if names else 0} integers of at least 0 "
                  "(one per label name)")
    p = h.get("provenance")
    if not (isinstance(p, dict) and type(p.get("tool")) is str and type(p.get("toolVersion")) is str
            and type(p.get("createdAt")) is str and ("source" not in p or type(p["source"]) is str)
            and ("settings" not in p or isinstance(p["settings"], dict))):
        raise bad("provenance", "a map of strings tool, toolVersion, createdAt (optional: source, a string; "
                  "settings, a map)")
    return h


def missing_record_allowance(entries):
    return max(16, entries // 100)


def sample_limit(header):
    """Most bytes a record may decode to: the sample plus 64 KiB for the other fields."""
    shape = header["shape"]
    pixels = header["maxSampleBytes"] if shape[0] == 0 else shape[0] * shape[1] * shape[2]
    return pixels + RECORD_OVERHEAD_BYTES
