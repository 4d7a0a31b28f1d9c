#!/usr/bin/env python3
"""PyTorch's side of the inference test (tools/inference/inference-test.mjs).

Runs the example's ResNet-18 (examples/inference-onnx/export_model.py; seeded random weights, the last
layer fitted to the first store's class means) on the pixels the Python reader (python/src/imgstore) gives
for each store: torchvision's centre crop, (x / 255 - mean) / std, NCHW. Exports that model with the example's command
line as an NCHW and an NHWC ONNX model, and writes every sample's logits as JSON.

    PYTHONPATH=python/src /usr/bin/python3 tools/inference/torch_reference.py OUT_DIR EXAMPLE_DIR \
        NAME=STORE[:CROP] ...
"""
import json
import os
import sys

import torch
from torchvision.transforms.functional import center_crop

import imgstore

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CLASSES = 4
SEED = 0


def read_inputs(spec):
    """NAME=STORE[:CROP] -> name, the samples, their normalized NCHW tensors."""
    name, _, rest = spec.partition("=")
    path, _, crop = rest.partition(":")
    with imgstore.open_store(path) as store:
        samples = [store[i] for i in range(len(store))]
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    inputs = []
    for sample in samples:
        x = torch.from_numpy(sample.data.copy()).permute(2, 0, 1)
        if crop:
            # torchvision's own centre crop: imgstore's cropAt 'center' must pick the same window.
            x = center_crop(x, [int(crop), int(crop)])
        x = x.float().div(255)
        inputs.append((x - mean) / std)
    return name, samples, torch.stack(inputs)


def main(out, example, *stores):
    sys.path.insert(0, example)
    import export_model

    torch.set_num_threads(1)
    model = export_model.build_model(CLASSES, SEED)
    fc, model.fc = model.fc, torch.nn.Identity()
    features = {}
    read = {}
    with torch.no_grad():
        for spec in stores:
            name, samples, inputs = read_inputs(spec)
            read[name] = samples
            features[name] = torch.cat([model(inputs[i:i + 8]) for i in range(0, len(inputs), 8)])
        # Random weights give every sample the same top-1. A last layer fitted to the first store's class
        # means (nearest class mean) makes top-1 differ between samples, so comparing it means something.
        first = next(iter(features))
        train = features[first]
        labels = torch.tensor([s.label for s in read[first]])
        centre = train.mean(0)
        weight = torch.stack([train[labels == c].mean(0) - centre for c in range(CLASSES)])
        weight /= (train - centre).matmul(weight.T).std()
        fc.weight.copy_(weight)
        fc.bias.copy_(-weight.matmul(centre))
        model.fc = fc
    weights = os.path.join(out, "resnet18-probe.pt")
    torch.save(model.state_dict(), weights)
    for name, layout in (("model.onnx", "NCHW"), ("model-nhwc.onnx", "NHWC")):
        export_model.main([os.path.join(out, name), "--num-classes", str(CLASSES), "--weights", weights, "--layout", layout])

    result = {}
    with torch.no_grad():
        for name, samples in read.items():
            result[name] = {
                "names": [s.name for s in samples],
                "labels": [s.label for s in samples],
                "logits": fc(features[name]).tolist(),
            }
    with open(os.path.join(out, "torch-logits.json"), "w") as f:
        json.dump({"torch": torch.__version__, "stores": result}, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
