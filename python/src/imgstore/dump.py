"""python -m imgstore.dump STORE_OR_MANIFEST [--pixels] [--header]: one JSON line per record
(index, name, label, shape, sha256 of the pixels; --pixels adds them in base64), or the header."""
import base64
import hashlib
import json
import sys

from . import open_dataset
from .errors import ImgstoreError


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 1 or "-h" in argv or "--help" in argv:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open_dataset(paths[0]) as ds:
            if "--header" in argv:
                print(json.dumps(ds.header if ds.header is not None else ds.manifest, indent=2))
                return 0
            out = sys.stdout
            for sample in ds:
                data = sample.data.tobytes()
                line = {"index": sample.index, "name": sample.name, "label": sample.label,
                        "shape": list(sample.shape), "sha256": hashlib.sha256(data).hexdigest()}
                if "--pixels" in argv:
                    line["pixels"] = base64.b64encode(data).decode("ascii")
                out.write(json.dumps(line) + "\n")
    except ImgstoreError as error:
        print(f"imgstore: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
