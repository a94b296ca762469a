#!/usr/bin/env python3
"""Makes the int8 fixtures that `tests/int8_tflm.rs` checks our int8 kernels against: TensorFlow
Lite Micro's reference kernels, run on a PC through the PyPI package `tflite-micro`.

Not run by CI (TensorFlow is kept out of it). In a venv outside the repository:

    python3 -m venv /tmp/venv-tf
    /tmp/venv-tf/bin/pip install tensorflow-cpu tflite-micro
    /tmp/venv-tf/bin/python tests/oracle/int8_generate.py

It needs MNIST in data/mnist (any example fetches it). For the MNIST MLP it:
1. builds the float network of `models/mnist_mlp.safetensors` (784-128-10, ReLU; inputs are the
   pixels divided by 255) in Keras, with those weights;
2. converts it to a full-integer int8 `.tflite` with TensorFlow Lite's converter, calibrated on
   500 training images (post-training quantization), inputs and outputs int8;
3. runs the first 100 test images through TFLM's interpreter (the reference kernels, whose
   requantization rounds twice, gemmlowp's way) and through TensorFlow Lite's own interpreter
   (which rounds once: the two differ in a few output bytes, by 1);
4. writes `tests/fixtures/int8/mnist_mlp.tflite` and `tests/fixtures/int8/mnist_mlp_tflm.safetensors`.

It does the same for a LeNet it trains for one epoch (`conv2d 5x5 relu, max_pool 2, conv2d 5x5
same relu, max_pool 2, dense 64 relu, dense 10`, NHWC as TensorFlow Lite has it):
`mnist_lenet.tflite` and `mnist_lenet_tflm.safetensors`, with `conv1` and `conv2` beside `fc1`
and `fc2` (conv weights in TensorFlow Lite's `OHWI` layout, inputs `(100, 28, 28, 1)`).

It also writes `mnist_mlp_per_tensor.*` (the MLP with one weight scale per tensor, which the
`microflow` crate needs, and `nn`'s quantized file of the same numbers, which
`embedded/mnist-mlp-tflite` bakes), and `mnist_dsres.*`: a net with a depthwise-separable
residual block (depthwise, pointwise, ADD with a fused ReLU), average pooling and a stride-2
`same` conv, trained here for one epoch, written in `nn`'s quantized-file names and layouts so
that `nn::quant::QuantModel` reads it.

The safetensors file holds the quantized network under these names (each layer's `weight` int8
`(out, in)`, `bias` int32, `weight_scale` f32 per output channel, `output_scale` f32 and
`output_zero_point` i32 scalars as 1-element tensors), the input's `input.scale` and
`input.zero_point`, and the data: `test.inputs` int8 `(100, 784)`, `test.labels` u8 `(100)`,
`test.tflm_outputs` and `test.tflite_outputs` int8 `(100, 10)`.
"""

import json
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "int8")
CASES = 100


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    body = data[8 + header_len:]
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", name
        start, end = meta["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype="<f4").reshape(meta["shape"])
    return tensors


def write_safetensors(path, tensors):
    dtypes = {np.dtype("int8"): "I8", np.dtype("uint8"): "U8", np.dtype("int32"): "I32",
              np.dtype("float32"): "F32"}
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtypes[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def main():
    only = sys.argv[1:]  # fixture groups to write, all by default: mlp, lenet, dsres, activations
    import tensorflow as tf
    from tflite_micro.python.tflite_micro import runtime

    mnist = os.environ.get("MNIST_DIR", os.path.join(ROOT, "data", "mnist"))
    train = read_idx(os.path.join(mnist, "train-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    test = read_idx(os.path.join(mnist, "t10k-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    labels = read_idx(os.path.join(mnist, "t10k-labels-idx1-ubyte"))
    weights = read_safetensors(os.path.join(ROOT, "models", "mnist_mlp.safetensors"))

    def wanted(group):
        return not only or group in only

    tf.keras.utils.set_random_seed(0)
    images = train.reshape(-1, 28, 28, 1).astype(np.float32)
    train_labels = read_idx(os.path.join(mnist, "train-images-idx3-ubyte").replace(
        "images-idx3", "labels-idx1"))
    if wanted("mlp"):
        mlp_fixtures(tf, runtime, weights, train, test, labels)
    if wanted("lenet"):
        lenet_fixture(tf, runtime, images, train_labels, test, labels)
    if wanted("dsres"):
        residual_fixture(tf, runtime, images, train_labels, test.reshape(-1, 28, 28, 1), labels)
    if wanted("activations"):
        activations_fixture(tf, runtime)
        activation_mlp_fixture(tf, runtime, train, train_labels, test, labels)


def mlp_fixtures(tf, runtime, weights, train, test, labels):
    model = tf.keras.Sequential([
        tf.keras.Input((784,)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dense(10),
    ])
    model.layers[0].set_weights([weights["fc1.weight"].T, weights["fc1.bias"]])
    model.layers[1].set_weights([weights["fc2.weight"].T, weights["fc2.bias"]])

    write_fixture(tf, runtime, model, train, test, labels, "mnist_mlp", (784,), [
        ("fc1", (128, 784), (1, 128)),
        ("fc2", (10, 128), None),
    ])
    # The same MLP with one weight scale per tensor, which the `microflow` crate (0.1.3) needs:
    # the `.tflite` both run on the device, and `nn`'s quantized file of the same numbers.
    write_fixture(tf, runtime, model, train, test, labels, "mnist_mlp_per_tensor", (784,), [
        ("fc1", (128, 784), (1, 128)),
        ("fc2", (10, 128), None),
    ], per_channel=False)


def lenet_fixture(tf, runtime, images, train_labels, test, labels):
    # A LeNet with a `same` conv, trained here for one epoch: the fixture checks the int8
    # arithmetic, not the float network.
    lenet = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        tf.keras.layers.Conv2D(6, 5, activation="relu"),
        tf.keras.layers.MaxPooling2D(2),
        tf.keras.layers.Conv2D(16, 5, padding="same", activation="relu"),
        tf.keras.layers.MaxPooling2D(2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(10),
    ])
    lenet.compile(optimizer="adam",
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    lenet.fit(images[:20000], train_labels[:20000], epochs=1, batch_size=64, verbose=0)
    write_fixture(tf, runtime, lenet, images, test.reshape(-1, 28, 28, 1), labels, "mnist_lenet",
                  (28, 28, 1), [
                      ("conv1", (6, 5, 5, 1), (1, 24, 24, 6)),
                      ("conv2", (16, 5, 5, 6), (1, 12, 12, 16)),
                      ("fc1", (64, 576), (1, 64)),
                      ("fc2", (10, 64), None),
                  ])


def convert_int8(tf, model, representative):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def run_tflm(runtime, flatbuffer, inputs):
    micro = runtime.Interpreter.from_bytes(flatbuffer)
    outputs = []
    for x in inputs:
        micro.set_input(x[None], 0)
        micro.invoke()
        outputs.append(micro.get_output(0)[0])
    return np.array(outputs, dtype=np.int8)


def activations_fixture(tf, runtime):
    """SOFTMAX, LOGISTIC and TANH alone, each at two input scales, through TFLM: sigmoid and
    tanh on every int8 value (one sample of 256), softmax on 200 random rows of 10. Written to
    `int8_activations.safetensors` as `<op>.<case>.{input_scale, input_zero_point, inputs,
    tflm_outputs, output_scale, output_zero_point}`."""
    rng = np.random.default_rng(5)
    tensors = {}
    cases = [("sigmoid", "sigmoid", 256, 1), ("tanh", "tanh", 256, 1), ("softmax", "softmax", 10, 200)]
    for name, activation, width, rows in cases:
        for case, spread in (("narrow", 3.0), ("wide", 12.0)):
            model = tf.keras.Sequential([
                tf.keras.Input((width,)),
                tf.keras.layers.Activation(activation),
            ])

            def representative():
                for _ in range(200):
                    yield [rng.uniform(-spread, spread * 0.7, (1, width)).astype(np.float32)]

            flatbuffer = convert_int8(tf, model, representative)
            lite = tf.lite.Interpreter(model_content=flatbuffer)
            lite.allocate_tensors()
            ops = [op["op_name"] for op in lite._get_ops_details() if op["op_name"] != "DELEGATE"]
            assert ops == [activation.upper() if activation != "sigmoid" else "LOGISTIC"], ops
            (input_detail,) = lite.get_input_details()
            (output_detail,) = lite.get_output_details()
            in_scale, in_zero = input_detail["quantization"]
            out_scale, out_zero = output_detail["quantization"]
            if rows == 1:
                inputs = np.arange(-128, 128, dtype=np.int8)[None]
            else:
                inputs = rng.integers(-128, 128, (rows, width)).astype(np.int8)
            key = f"{name}.{case}"
            tensors[f"{key}.input_scale"] = np.array([in_scale], np.float32)
            tensors[f"{key}.input_zero_point"] = np.array([in_zero], np.int32)
            tensors[f"{key}.output_scale"] = np.array([out_scale], np.float32)
            tensors[f"{key}.output_zero_point"] = np.array([out_zero], np.int32)
            tensors[f"{key}.inputs"] = inputs
            tensors[f"{key}.tflm_outputs"] = run_tflm(runtime, flatbuffer, inputs)
            print(f"{key}: input scale {in_scale} zero point {in_zero}, output scale {out_scale} "
                  f"zero point {out_zero}", file=sys.stderr)
    write_safetensors(os.path.join(OUT, "int8_activations.safetensors"), tensors)


def activation_mlp_fixture(tf, runtime, train, train_labels, test, labels):
    """An MLP through tanh, sigmoid and softmax (784-64 tanh-32 sigmoid-10 softmax), trained
    here for one epoch, quantized, and written in `nn`'s quantized-file names
    (`mnist_mlp_act_tflm.safetensors`) with TFLM's outputs for the first CASES test images, and
    alone (`mnist_mlp_act.q.safetensors`) for `network!` to bake."""
    tf.keras.utils.set_random_seed(2)
    model = tf.keras.Sequential([
        tf.keras.Input((784,)),
        tf.keras.layers.Dense(64, activation="tanh"),
        tf.keras.layers.Dense(32, activation="sigmoid"),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(train[:20000].astype(np.float32), train_labels[:20000], epochs=1, batch_size=64,
              verbose=0)

    def representative():
        for i in range(500):
            yield [train[i:i + 1].astype(np.float32)]

    flatbuffer = convert_int8(tf, model, representative)
    path = os.path.join(OUT, "mnist_mlp_act.tflite")
    with open(path, "wb") as f:
        f.write(flatbuffer)
    lite = tf.lite.Interpreter(model_path=path, experimental_preserve_all_tensors=True)
    lite.allocate_tensors()
    ops = lite._get_ops_details()
    print("mnist_mlp_act ops:", [op["op_name"] for op in ops], file=sys.stderr)
    (input_detail,) = lite.get_input_details()
    in_scale, in_zero = input_detail["quantization"]
    inputs = np.clip(np.round(test[:CASES] / in_scale) + in_zero, -128, 127).astype(np.int8)
    tflm_outputs = run_tflm(runtime, flatbuffer, inputs)
    details = {d["index"]: d for d in lite.get_tensor_details()}
    tensors = {
        "input.scale": np.array([in_scale], np.float32),
        "input.zero_point": np.array([in_zero], np.int32),
        "test.inputs": inputs,
        "test.labels": labels[:CASES].astype(np.uint8),
        "test.tflm_outputs": tflm_outputs,
    }
    layers = iter(["fc1", "fc2", "fc3"])
    for op in ops:
        name = op["op_name"]
        if name == "FULLY_CONNECTED":
            path = next(layers)
            w = details[op["inputs"][1]]
            b = details[op["inputs"][2]]
            scales = np.asarray(w["quantization_parameters"]["scales"], np.float32)
            weight = lite.get_tensor(w["index"]).astype(np.int8)
            if scales.size == 1:
                scales = np.repeat(scales, weight.shape[0])
            scale, zero = details[op["outputs"][0]]["quantization"]
            tensors[f"{path}.weight"] = weight
            tensors[f"{path}.weight_scale"] = scales
            tensors[f"{path}.bias"] = lite.get_tensor(b["index"]).astype(np.int32)
            tensors[f"{path}.output_scale"] = np.array([scale], np.float32)
            tensors[f"{path}.output_zero_point"] = np.array([zero], np.int32)
        elif name not in ("TANH", "LOGISTIC", "SOFTMAX", "DELEGATE"):
            raise SystemExit(f"unexpected operator {name}")
    write_safetensors(os.path.join(OUT, "mnist_mlp_act_tflm.safetensors"), tensors)
    # `nn`'s quantized file alone, for `network!` to bake.
    write_safetensors(os.path.join(OUT, "mnist_mlp_act.q.safetensors"),
                      {k: v for k, v in tensors.items() if not k.startswith("test.")})
    accuracy = float(np.mean(np.argmax(tflm_outputs, 1) == labels[:CASES]))
    print(f"mnist_mlp_act: TFLM accuracy on {CASES}: {accuracy}", file=sys.stderr)


def residual_fixture(tf, runtime, images, train_labels, test, labels):
    """A net with a depthwise-separable residual block, an ADD with a fused ReLU, average
    pooling and a strided `same` convolution, trained for one epoch, quantized, and written as
    an `nn` quantized file (`mnist_dsres_tflm.safetensors`: our names and layouts, so that
    `nn::quant::QuantModel` reads it for the declaration in `tests/int8_tflm.rs`), with the
    test data and TFLM's outputs beside it. The tensors of each operator come from the
    interpreter's operator list, in order."""
    tf.keras.utils.set_random_seed(1)
    inp = tf.keras.Input((28, 28, 1))
    c1 = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    dw = tf.keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(c1)
    pw = tf.keras.layers.Conv2D(8, 1)(dw)
    s = tf.keras.layers.ReLU()(tf.keras.layers.Add()([c1, pw]))
    p = tf.keras.layers.AveragePooling2D(2)(s)
    c2 = tf.keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(p)
    out = tf.keras.layers.Dense(10)(tf.keras.layers.Flatten()(c2))
    model = tf.keras.Model(inp, out)
    model.compile(optimizer="adam",
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images[:20000], train_labels[:20000], epochs=1, batch_size=64, verbose=0)

    def representative():
        for i in range(500):
            yield [images[i:i + 1]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    flatbuffer = converter.convert()
    path = os.path.join(OUT, "mnist_dsres.tflite")
    with open(path, "wb") as f:
        f.write(flatbuffer)

    lite = tf.lite.Interpreter(model_path=path, experimental_preserve_all_tensors=True)
    lite.allocate_tensors()
    ops = lite._get_ops_details()
    print("mnist_dsres ops:", [op["op_name"] for op in ops], file=sys.stderr)
    (input_detail,) = lite.get_input_details()
    (output_detail,) = lite.get_output_details()
    in_scale, in_zero = input_detail["quantization"]
    inputs = np.clip(np.round(test[:CASES] / in_scale) + in_zero, -128, 127).astype(np.int8)

    micro = runtime.Interpreter.from_file(path)
    tflm_outputs = []
    for x in inputs:
        micro.set_input(x[None], 0)
        micro.invoke()
        tflm_outputs.append(micro.get_output(0)[0])
    tflm_outputs = np.array(tflm_outputs, dtype=np.int8)
    tflite_outputs = []
    for x in inputs:
        lite.set_tensor(input_detail["index"], x[None])
        lite.invoke()
        tflite_outputs.append(lite.get_tensor(output_detail["index"])[0])
    tflite_outputs = np.array(tflite_outputs, dtype=np.int8)

    details = {d["index"]: d for d in lite.get_tensor_details()}
    tensors = {
        "input.scale": np.array([in_scale], np.float32),
        "input.zero_point": np.array([in_zero], np.int32),
        "test.inputs": inputs.reshape(CASES, 1, 28, 28),
        "test.labels": labels[:CASES].astype(np.uint8),
        "test.tflm_outputs": tflm_outputs,
        "test.tflite_outputs": tflite_outputs,
    }

    def output_pair(path, index):
        scale, zero = details[index]["quantization"]
        tensors[f"{path}.output_scale"] = np.array([scale], np.float32)
        tensors[f"{path}.output_zero_point"] = np.array([zero], np.int32)

    def weighted(path, op, layout):
        w = details[op["inputs"][1]]
        b = details[op["inputs"][2]]
        scales = np.asarray(w["quantization_parameters"]["scales"], np.float32)
        weight = layout(lite.get_tensor(w["index"]).astype(np.int8))
        if scales.size == 1:
            scales = np.repeat(scales, weight.shape[0])
        assert not np.any(w["quantization_parameters"]["zero_points"]), "weights are symmetric"
        tensors[f"{path}.weight"] = np.ascontiguousarray(weight)
        tensors[f"{path}.weight_scale"] = scales
        tensors[f"{path}.bias"] = lite.get_tensor(b["index"]).astype(np.int32)
        output_pair(path, op["outputs"][0])

    convs = iter(["conv1", "block.body.dw", "block.body.pw", "conv2"])
    for op in ops:
        name = op["op_name"]
        if name == "CONV_2D":
            weighted(next(convs), op, lambda w: w.transpose(0, 3, 1, 2))  # OHWI -> OIHW
        elif name == "DEPTHWISE_CONV_2D":
            weighted(next(convs), op, lambda w: w[0].transpose(2, 0, 1)[:, None])  # 1HWO -> O1HW
        elif name == "ADD":
            output_pair("block", op["outputs"][0])
        elif name == "FULLY_CONNECTED":
            # TensorFlow Lite flattens (7, 7, 16) channels last; `nn` flattens (16, 7, 7).
            weighted("fc", op, lambda w: w.reshape(10, 49, 16).transpose(0, 2, 1).reshape(10, -1))
        elif name in ("AVERAGE_POOL_2D",):
            a = details[op["inputs"][0]]["quantization"]
            b = details[op["outputs"][0]]["quantization"]
            assert a == b, "AVERAGE_POOL_2D keeps its input's scale and zero point"
        elif name not in ("RESHAPE", "SHAPE", "STRIDED_SLICE", "PACK", "DELEGATE"):
            raise SystemExit(f"unexpected operator {name}")
    write_safetensors(os.path.join(OUT, "mnist_dsres_tflm.safetensors"), tensors)
    differ = int(np.sum(tflm_outputs != tflite_outputs))
    accuracy = float(np.mean(np.argmax(tflm_outputs, 1) == labels[:CASES]))
    print(f"mnist_dsres: TFLM accuracy on {CASES}: {accuracy}; TFLM vs TFLite interpreter: "
          f"{differ} of {tflm_outputs.size} output bytes differ", file=sys.stderr)


def write_fixture(tf, runtime, model, train, test, labels, name, sample, layers,
                  per_channel=True):
    """Quantizes `model`, runs both interpreters on the first CASES test samples, and writes
    `<name>.tflite` and `<name>_tflm.safetensors`. `layers` names each weighted layer with its
    weight's shape (TensorFlow Lite's layout) and its output activation's shape (None: the
    model's output)."""

    def representative():
        for i in range(500):
            yield [train[i:i + 1].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    if not per_channel:
        converter._experimental_disable_per_channel = True
    flatbuffer = converter.convert()
    os.makedirs(OUT, exist_ok=True)
    tflite_path = os.path.join(OUT, f"{name}.tflite")
    with open(tflite_path, "wb") as f:
        f.write(flatbuffer)

    lite = tf.lite.Interpreter(model_path=tflite_path, experimental_preserve_all_tensors=True)
    lite.allocate_tensors()
    details = lite.get_tensor_details()
    (input_detail,) = lite.get_input_details()
    (output_detail,) = lite.get_output_details()
    in_scale, in_zero = input_detail["quantization"]
    inputs = np.clip(np.round(test[:CASES] / in_scale) + in_zero, -128, 127).astype(np.int8)
    inputs = inputs.reshape((CASES,) + sample)

    tflite_outputs = []
    for x in inputs:
        lite.set_tensor(input_detail["index"], x[None])
        lite.invoke()
        tflite_outputs.append(lite.get_tensor(output_detail["index"])[0])
    tflite_outputs = np.array(tflite_outputs, dtype=np.int8)

    micro = runtime.Interpreter.from_file(tflite_path)
    tflm_outputs = []
    for x in inputs:
        micro.set_input(x[None], 0)
        micro.invoke()
        tflm_outputs.append(micro.get_output(0)[0])
    tflm_outputs = np.array(tflm_outputs, dtype=np.int8)

    # The tensors, told apart by shape and type.
    def find(shape, dtype):
        found = [d for d in details if tuple(d["shape"]) == shape and d["dtype"] == dtype]
        assert len(found) == 1, (shape, dtype, [(d["name"], d["shape"], d["dtype"]) for d in details])
        return found[0]

    tensors = {
        "input.scale": np.array([in_scale], np.float32),
        "input.zero_point": np.array([in_zero], np.int32),
        "test.inputs": inputs,
        "test.labels": labels[:CASES].astype(np.uint8),
        "test.tflm_outputs": tflm_outputs,
        "test.tflite_outputs": tflite_outputs,
    }
    for layer, shape, out_shape in layers:
        w = find(shape, np.int8)
        b = find((shape[0],), np.int32)
        out = output_detail if out_shape is None else find(out_shape, np.int8)
        scales = np.asarray(w["quantization_parameters"]["scales"], np.float32)
        per_channel = scales.size > 1
        if not per_channel:
            scales = np.repeat(scales, shape[0])
        assert not np.any(w["quantization_parameters"]["zero_points"]), "weights are symmetric"
        out_scale, out_zero = out["quantization"]
        tensors[f"{layer}.weight"] = lite.get_tensor(w["index"]).astype(np.int8)
        tensors[f"{layer}.weight_scale"] = scales
        tensors[f"{layer}.bias"] = lite.get_tensor(b["index"]).astype(np.int32)
        tensors[f"{layer}.output_scale"] = np.array([out_scale], np.float32)
        tensors[f"{layer}.output_zero_point"] = np.array([out_zero], np.int32)
        tensors[f"{layer}.per_channel"] = np.array([per_channel], np.uint8)
    write_safetensors(os.path.join(OUT, f"{name}_tflm.safetensors"), tensors)
    if not per_channel:
        # `nn`'s quantized file of the same numbers, for a firmware to bake.
        quantized = {k: v for k, v in tensors.items()
                     if not k.startswith("test.") and not k.endswith(".per_channel")}
        write_safetensors(os.path.join(OUT, f"{name}.q.safetensors"), quantized)

    accuracy = float(np.mean(np.argmax(tflm_outputs, 1) == labels[:CASES]))
    differ = int(np.sum(tflm_outputs != tflite_outputs))
    print(f"{name}: input scale {in_scale} zero point {in_zero}; TFLM accuracy on {CASES}: "
          f"{accuracy}; TFLM vs TFLite interpreter: {differ} of {tflm_outputs.size} output "
          f"bytes differ", file=sys.stderr)


if __name__ == "__main__":
    main()
