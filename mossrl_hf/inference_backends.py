"""Faster models for prediction: int8 dynamic quantization of the linear layers, and ONNX Runtime.

`prepare_for_prediction(model, tokenizer, backend, quantize)` returns something called like the model
(`model(input_ids=..., attention_mask=...).logits`, a torch tensor) that runs on the chosen backend:

- `torch` + `none`: the model as trained (the default: exactly the recipe's figures);
- `torch` + `int8`: `torch.ao.quantization.quantize_dynamic` on every `nn.Linear` (weights stored in int8,
  activations quantized on the fly; VNNI/AMX kernels through fbgemm/oneDNN on x86);
- `onnx` + `none`: the model exported with `torch.onnx.export` and run by ONNX Runtime; for BERT-family
  encoders after ONNX Runtime's transformer fusions (attention, embedding and skip layer norms, GELU);
- `onnx` + `int8`: the same graph after ONNX Runtime's own dynamic quantization (`quantize_dynamic`, int8
  weights for MatMul/Gemm and the fused attention, one scale per output channel, the classifier head kept in
  float32);
- `openvino`: the same exported graph compiled by OpenVINO for the CPU, in float32, or in bfloat16 when the
  autocast asks for it (`--autocast bfloat16`, or "auto" for a model the recipe evaluated in bfloat16): on
  CPUs with AMX (Sapphire Rapids and later) its bfloat16 matrix products are the fastest of all these.
  OpenVINO would pick bfloat16 by itself on such CPUs; float32 is asked for explicitly so that the default
  stays exact.

A quantized or bfloat16 model's tags can differ from the float model's: `python -m
mossrl_hf.bench.predict_speed --backend onnx --quantize int8` reports its F1 beside the float model's.
"""

import logging
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from .errors import ConfigError
from .modeling import resolve_autocast

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "openvino")
QUANTIZATIONS = ("none", "int8")
ONNX_OPSET = 17
# Architectures whose exported graph ONNX Runtime's "bert" fusions recognise (its transformers optimizer).
FUSABLE_MODEL_TYPES = ("bert", "roberta", "xlm-roberta", "camembert", "electra")


def check_backend(backend: str, quantize: str, autocast: str | None) -> None:
    """Refuse what cannot go together; `autocast` is what the user asked for ("auto" adapts)."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if quantize not in QUANTIZATIONS:
        raise ConfigError(f"--quantize must be one of {', '.join(QUANTIZATIONS)}, not {quantize!r}")
    if backend == "openvino" and quantize != "none":
        raise ConfigError(
            f"--quantize {quantize} runs on --backend torch or onnx; --backend openvino runs float32, or "
            "bfloat16 with --autocast bfloat16 (fast on CPUs with AMX)"
        )
    runs_its_own_precision = quantize != "none" or backend == "onnx"
    if runs_its_own_precision and autocast not in ("auto", "none", None):
        raise ConfigError(
            f"--autocast {autocast} goes with the float torch or openvino backend only "
            f"(--backend {backend} --quantize {quantize} runs its own precision)"
        )


def add_backend_arguments(parser) -> None:
    """`--backend` and `--quantize` for the prediction commands (argparse)."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="torch",
        help="torch (default), onnx (exported and run by ONNX Runtime) or openvino (exported and compiled "
        "by OpenVINO; with --autocast bfloat16 the fastest on CPUs with AMX).",
    )
    parser.add_argument(
        "--quantize",
        choices=QUANTIZATIONS,
        default="none",
        help="int8: dynamic int8 quantization of the linear layers (faster on a CPU; F1 may move a little).",
    )


def prepare_for_prediction(
    model, tokenizer, backend: str = "torch", quantize: str = "none", autocast: str | None = "auto"
):
    """(model, autocast): the model quantized or exported as asked (see the module's docstring), and the
    torch autocast to run it under. Only the float torch model runs under torch's autocast; OpenVINO takes
    the autocast as its own inference precision; the others run in their own."""
    check_backend(backend, quantize, autocast)
    if (backend, quantize) == ("torch", "none"):
        return model, autocast
    precision = resolve_autocast(model, autocast) if backend == "openvino" else None
    if hasattr(model, "merge_and_unload"):  # a LoRA adapter: fold it into the weights first
        model = model.merge_and_unload()
    model = model.eval().float()
    if backend == "torch":
        return quantize_linear_layers(model), "none"
    return ExportedClassifier(model, tokenizer, backend, quantize == "int8", precision), "none"


def quantize_linear_layers(model):
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; the eager API still works in this torch.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import quantize_dynamic

        quantized = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    quantized.prediction_backend = "torch-int8"
    return quantized


class ExportedClassifier:
    """A token or sequence classifier exported to ONNX and run on the CPU by ONNX Runtime ("onnx") or
    OpenVINO ("openvino"; `precision` "bfloat16" or "float16" asks it for that inference precision)."""

    device = torch.device("cpu")

    def __init__(self, model, tokenizer, runtime: str, quantize: bool = False, precision: str | None = None):
        self.config = model.config
        self.input_names = [name for name in tokenizer.model_input_names if name != "position_ids"]
        with tempfile.TemporaryDirectory(prefix="mossrl-onnx-") as folder:
            path = export_onnx(model, tokenizer, self.input_names, Path(folder) / "model.onnx")
            if runtime == "openvino":  # OpenVINO fuses the plain graph itself
                self._run, runs_in = openvino_runner(path, precision)
                self.prediction_backend = f"openvino-{runs_in}"
                return
            path = fuse_transformer_graph(path, model.config, Path(folder) / "model-fused.onnx")
            if quantize:
                path = quantize_onnx(path, Path(folder) / "model-int8.onnx")
            self._run = onnxruntime_runner(path)
            self.prediction_backend = "onnx-int8" if quantize else "onnx"

    def eval(self):
        return self

    def __call__(self, **batch) -> SimpleNamespace:
        feed = {name: batch[name].cpu().numpy() for name in self.input_names if name in batch}
        if "token_type_ids" in self.input_names and "token_type_ids" not in feed:
            # Featurizers that leave them out rely on the model's default, all zeros (one segment).
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        return SimpleNamespace(logits=torch.from_numpy(self._run(feed)))


def onnxruntime_runner(path: Path):
    """feed -> logits through an ONNX Runtime session on the CPU, on torch's thread count."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda feed: session.run(["logits"], feed)[0]


# Autocast names (the recipes' --autocast) -> OpenVINO's inference precision names.
OPENVINO_PRECISIONS = {None: "f32", "bfloat16": "bf16", "float16": "f16"}


# The CPU plugin fuses each layer's attention (MatMul, Softmax, MatMul) into one subgraph with kernels it
# generates itself ("snippets"). For these small encoders its standard kernels are faster: MiniLM, 64
# windows of 24 tokens, 2 cores with AMX: 36.8 ms a batch against 40.7 in bfloat16, 136 against 145 in
# float32, and each new batch shape costs 6 ms to prepare against 15 (CoNLL's test set meets 35 of them).
# SNIPPETS_MODE is the plugin's own switch, not in its published list, hence the fallback below.
OPENVINO_CPU_TUNING = {"SNIPPETS_MODE": "DISABLE"}


def openvino_runner(path: Path, precision: str | None):
    """(feed -> logits, the precision OpenVINO runs in: "f32", or "bf16"/"f16" where the CPU has them)."""
    compiled = compile_on_cpu(
        path,
        {
            "INFERENCE_PRECISION_HINT": OPENVINO_PRECISIONS[precision],
            "INFERENCE_NUM_THREADS": torch.get_num_threads(),
            "PERFORMANCE_HINT": "LATENCY",  # one request at a time, every thread on it
        },
    )
    runs_in = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
    if runs_in != OPENVINO_PRECISIONS[precision]:
        logger.warning("OpenVINO runs this model in %s: this CPU lacks %s", runs_in, precision)
    request, logits = compiled.create_infer_request(), compiled.output("logits")
    return lambda feed: request.infer(feed)[logits], runs_in


def compile_on_cpu(path: Path, settings: dict):
    """The ONNX graph at `path` compiled by OpenVINO for the CPU with `settings` and `OPENVINO_CPU_TUNING`
    (without the tuning where this version of the plugin does not take it)."""
    import openvino

    core = openvino.Core()
    model = core.read_model(str(path))
    try:
        return core.compile_model(model, "CPU", {**settings, **OPENVINO_CPU_TUNING})
    except RuntimeError:
        logger.info("OpenVINO's CPU plugin does not take %s: compiling without it", OPENVINO_CPU_TUNING)
        return core.compile_model(model, "CPU", settings)


def export_onnx(model, tokenizer, input_names: list[str], path: Path) -> Path:
    if model.config.model_type in FUSABLE_MODEL_TYPES:
        # The eager attention's graph is the one ONNX Runtime's attention fusion recognises (SDPA's is not).
        model.set_attn_implementation("eager")
    example = tokenizer(["an example to trace", "and a second, longer example to trace"], padding=True)
    args = tuple(torch.tensor(example[name]) for name in input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    with torch.inference_mode():
        per_token = model(**dict(zip(input_names, args, strict=True))).logits.dim() == 3
    axes["logits"] = {0: "batch", 1: "sequence"} if per_token else {0: "batch"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            _KeywordForward(model, input_names).eval(),  # a new module trains; export restores that
            args,
            str(path),
            input_names=input_names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return path


def fuse_transformer_graph(path: Path, config, fused_path: Path) -> Path:
    """ONNX Runtime's transformer fusions for a BERT-family encoder (other graphs are returned as they are):
    one Attention node per layer, embedding and skip layer norms, GELU with its bias."""
    if config.model_type not in FUSABLE_MODEL_TYPES:
        return path
    from onnxruntime.transformers.optimizer import optimize_model

    with _root_logging_off():  # it logs each fusion it applies at INFO on the root logger
        fused = optimize_model(
            str(path),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
            opt_level=0,  # its Python fusions only: the session applies ONNX Runtime's own at load
        )
        fused.save_model_to_file(str(fused_path))
    return fused_path


def quantize_onnx(path: Path, quantized_path: Path) -> Path:
    """Dynamic int8 weights with one scale per output channel; the classifier head (the product that makes
    the logits) stays float32: its few weights decide every tag, and cost almost nothing."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _root_logging_off():  # its advice to pre-process shapes is for static quantization
        quantize_dynamic(
            str(path),
            str(quantized_path),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=classifier_head(onnx.load(str(path)).graph),
            # Shape inference cannot type the outputs of ONNX Runtime's fused (com.microsoft) nodes.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return quantized_path


def classifier_head(graph) -> list[str]:
    """The name of the matrix product nearest to the `logits` output (through adds and reshapes)."""
    producers = {output: node for node in graph.node for output in node.output}
    frontier = ["logits"]
    while frontier:  # breadth first: the bias add may name the product as either input
        nodes = [producers[name] for name in frontier if name in producers]
        products = [node.name for node in nodes if node.op_type in ("MatMul", "Gemm")]
        if products:
            return products[:1]
        frontier = [name for node in nodes for name in node.input]
    return []


class _root_logging_off:
    def __enter__(self):
        self.was_disabled, logging.getLogger().disabled = logging.getLogger().disabled, True

    def __exit__(self, *exc):
        logging.getLogger().disabled = self.was_disabled


class _KeywordForward(torch.nn.Module):
    """The exporter passes inputs by position; the model takes them by name, and returns only logits."""

    def __init__(self, model, input_names: list[str]):
        super().__init__()
        self.model, self.input_names = model, input_names

    def forward(self, *inputs):
        return self.model(**dict(zip(self.input_names, inputs, strict=True))).logits
