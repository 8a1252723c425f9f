"""Model FLOPs and model FLOPs utilisation (MFU) of a training run.

Training FLOPs are estimated as 6 x parameters x real (non-padding) tokens: a forward and a backward pass
over every parameter for every token, embeddings included, attention's sequence-length term and padding left
out (the usual MFU convention). MFU divides the achieved rate by the GPU's dense peak for the precision the
run trained in; CPUs and GPUs not in the table get the achieved rate only.
"""

from typing import Any

# Dense (no sparsity) peak TFLOP/s from NVIDIA's datasheets: bf16/fp16 tensor cores, and plain fp32 (what a
# float32 run uses: PyTorch does not use TF32 for matrix products by default). Checked in order: the first
# name fragment a device name contains wins.
_PEAK_TFLOPS = (
    ("H200", {"bf16": 989.0, "fp32": 67.0}),
    ("H100 PCIe", {"bf16": 756.0, "fp32": 51.0}),
    ("H100", {"bf16": 989.0, "fp32": 67.0}),
    ("A100", {"bf16": 312.0, "fp32": 19.5}),
    ("L4", {"bf16": 121.0, "fp32": 30.3}),
)


def peak_flops_per_second(device_name: str | None, precision: str) -> float | None:
    """Dense peak FLOP/s of a GPU for `precision` ("bf16" or "fp32"); None when unknown."""
    if not device_name:
        return None
    for fragment, peaks in _PEAK_TFLOPS:
        if fragment.lower() in device_name.lower():
            return peaks[precision] * 1e12
    return None


def training_precision(run_config: dict[str, Any], lookup) -> str:
    """ "bf16" for a run trained with --bf16 or --fp16 (16-bit tensor-core peak), else "fp32"."""
    return "bf16" if lookup(run_config, "bf16") or lookup(run_config, "fp16") else "fp32"


def model_flops(
    parameters: float | None,
    real_tokens: float | None,
    seconds: float | None,
    device_name: str | None,
    precision: str,
) -> dict[str, Any]:
    """Training FLOPs, the achieved rate, the peak it is measured against and MFU (None where a figure is
    missing)."""
    peak = peak_flops_per_second(device_name, precision)
    figures = {"training_flops": None, "model_flops_per_second": None, "mfu": None}
    figures.update(peak_flops_per_second=peak, mfu_precision=precision)
    if parameters and real_tokens is not None and seconds:
        flops = 6.0 * parameters * real_tokens
        figures.update(training_flops=flops, model_flops_per_second=flops / seconds)
        figures["mfu"] = flops / seconds / peak if peak else None
    return figures
