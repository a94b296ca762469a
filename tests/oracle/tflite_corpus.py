#!/usr/bin/env python3
"""Writes the corpus of broken `.tflite` files that `tests/tflite_corpus.rs` feeds to
`nn::quant::QuantModel::from_tflite` (each must be an error that says what and where, never a
panic): `tests/fixtures/int8/broken/*.tflite`, each one mistake made in `tiny.tflite`, a small
int8 MLP (16-8 ReLU-4) this script converts with TensorFlow Lite's converter and writes beside
them.

Not run by CI. It needs TensorFlow (the converter, and the schema's object API), in the venv of
`tests/oracle/int8_generate.py`:

    /tmp/venv-tf/bin/python tests/oracle/tflite_corpus.py
"""

import copy
import os

import flatbuffers
import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "int8", "broken")
INPUTS = 16


def tiny():
    """A 16-8-4 MLP with a ReLU, int8 in and out, per-channel weights."""
    tf.keras.utils.set_random_seed(3)
    model = tf.keras.Sequential([
        tf.keras.Input((INPUTS,)),
        tf.keras.layers.Dense(8, activation="relu"),
        tf.keras.layers.Dense(4),
    ])
    rng = np.random.default_rng(3)
    # Nonzero biases, so that the converter keeps them.
    for layer in model.layers:
        weight, bias = layer.get_weights()
        layer.set_weights([weight, rng.normal(0, 0.3, bias.shape).astype(np.float32)])

    def representative():
        for _ in range(100):
            yield [rng.uniform(-1, 1, (1, INPUTS)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def pack(model):
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def edited(original, edit):
    model = copy.deepcopy(original)
    edit(model)
    return pack(model)


def fc(model, k):
    """The k-th FULLY_CONNECTED operator and its weight tensor."""
    graph = model.subgraphs[0]
    ops = [op for op in graph.operators
           if model.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.FULLY_CONNECTED]
    op = ops[k]
    return graph, op, graph.tensors[op.inputs[1]]


def main():
    raw = tiny()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(raw, 0))
    os.makedirs(OUT, exist_ok=True)
    files = {"tiny": raw}

    # The bytes themselves.
    files["truncated"] = raw[:len(raw) // 2]
    files["not_tflite"] = raw[:4] + b"XXXX" + raw[8:]
    files["offset_out_of_range"] = (0x7FFFFF00).to_bytes(4, "little") + raw[4:]

    # One mistake in the model.
    def tensor_index(m):
        m.subgraphs[0].operators[0].inputs[0] = 999
    files["tensor_index_out_of_range"] = edited(model, tensor_index)

    def unsupported(m):
        # The second dense layer becomes an LSTM.
        graph, op, _ = fc(m, 1)
        code = schema.OperatorCodeT()
        code.builtinCode = schema.BuiltinOperator.LSTM
        code.deprecatedBuiltinCode = schema.BuiltinOperator.LSTM
        code.version = 1
        m.operatorCodes.append(code)
        op.opcodeIndex = len(m.operatorCodes) - 1
    files["unsupported_operator"] = edited(model, unsupported)

    def zero_point(m):
        _, _, w = fc(m, 0)
        w.quantization.zeroPoint = [3] * len(w.quantization.zeroPoint)
    files["weight_zero_point"] = edited(model, zero_point)

    def mixed(m):
        # Three scales on a weight of 8 output channels: neither per tensor nor per channel.
        _, _, w = fc(m, 0)
        w.quantization.scale = list(w.quantization.scale[:3])
        w.quantization.zeroPoint = [0, 0, 0]
    files["mixed_quantization"] = edited(model, mixed)

    def wrong_axis(m):
        # One scale per input column (axis 1), not per output channel.
        _, _, w = fc(m, 0)
        w.quantization.scale = [w.quantization.scale[0]] * INPUTS
        w.quantization.zeroPoint = [0] * INPUTS
        w.quantization.quantizedDimension = 1
    files["per_channel_on_the_wrong_axis"] = edited(model, wrong_axis)

    def float_activation(m):
        graph, op, _ = fc(m, 0)
        graph.tensors[op.outputs[0]].type = schema.TensorType.FLOAT32
    files["float_activation"] = edited(model, float_activation)

    def short_bias(m):
        # The bias claims 4 values and holds 8.
        graph, op, _ = fc(m, 0)
        assert op.inputs[2] >= 0, "the layer has a bias"
        graph.tensors[op.inputs[2]].shape = [4]
    files["bias_data_and_shape_disagree"] = edited(model, short_bias)

    def custom(m):
        graph, op, _ = fc(m, 1)
        code = schema.OperatorCodeT()
        code.builtinCode = schema.BuiltinOperator.CUSTOM
        code.customCode = b"MyDense"
        code.version = 1
        m.operatorCodes.append(code)
        op.opcodeIndex = len(m.operatorCodes) - 1
    files["custom_operator"] = edited(model, custom)

    def two_subgraphs(m):
        m.subgraphs.append(copy.deepcopy(m.subgraphs[0]))
    files["two_subgraphs"] = edited(model, two_subgraphs)

    for name, data in files.items():
        with open(os.path.join(OUT, f"{name}.tflite"), "wb") as f:
            f.write(data)
        print(f"{name}.tflite: {len(data)} bytes")


if __name__ == "__main__":
    main()
