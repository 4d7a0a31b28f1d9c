#!/usr/bin/env python3
"""Export a torchvision ResNet-18 to ONNX, for classify.mjs.

Random weights from a fixed seed (a stand-in: load your trained weights with --weights), so the same
command gives the same model on any machine with the same torch. Needs torch and torchvision (on Debian:
apt-get install python3-torch python3-torchvision; torch.onnx.export needs no onnx package).

    /usr/bin/python3 export_model.py model.onnx --num-classes 4
    /usr/bin/python3 export_model.py model-nhwc.onnx --num-classes 4 --layout NHWC
    /usr/bin/python3 export_model.py model.onnx --weights resnet18-trained.pt --num-classes 10

The input is float32 [batch, 3, size, size] (NCHW, what torchvision models take), normalized as for
ImageNet; --layout NHWC exports the same network behind a transpose, taking [batch, size, size, 3].
The batch dimension is dynamic.
"""
import argparse
import sys

import torch
import torchvision


class NHWC(torch.nn.Module):
    """The model, fed [N, H, W, C] pixels: the transpose becomes a node of the exported graph."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x.permute(0, 3, 1, 2))


def build_model(num_classes, seed=0, weights=None):
    """ResNet-18 in eval mode: seeded random weights, or a state dict saved with torch.save."""
    torch.manual_seed(seed)
    model = torchvision.models.resnet18(weights=None, num_classes=num_classes)
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu"))
    return model.eval()


def export(model, path, layout="NCHW", size=224):
    net = NHWC(model) if layout == "NHWC" else model
    shape = (1, size, size, 3) if layout == "NHWC" else (1, 3, size, size)
    with torch.no_grad():
        torch.onnx.export(
            net.eval(), torch.zeros(shape), path, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="the .onnx file to write")
    parser.add_argument("--num-classes", type=int, default=1000, help="outputs of the last layer (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    parser.add_argument("--weights", help="a state dict (torch.save(model.state_dict(), path)) instead of random weights")
    parser.add_argument("--layout", choices=["NCHW", "NHWC"], default="NCHW", help="input layout (default NCHW)")
    parser.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    args = parser.parse_args(argv)
    export(build_model(args.num_classes, args.seed, args.weights), args.output, args.layout, args.size)
    print(f"wrote {args.output}: ResNet-18, {args.num_classes} classes, input {args.layout} {args.size}x{args.size}")


if __name__ == "__main__":
    sys.exit(main())
